// Typed errors with a stable `code`. Library code throws these; only the CLI turns them into exit codes.

export class RuntError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** A field of the spec cannot be turned into a plan (the message names the field). */
export class PlanError extends RuntError {
  constructor(
    readonly path: string,
    what: string,
  ) {
    super('EINVALID_SPEC', `${path}: ${what}`);
  }
}

export class ContainerNotFoundError extends RuntError {
  constructor(readonly id: string) {
    super('ENOTFOUND_CONTAINER', `container "${id}" does not exist`);
  }
}

export class ContainerExistsError extends RuntError {
  constructor(readonly id: string) {
    super('EEXIST_CONTAINER', `container "${id}" already exists`);
  }
}

export class InvalidStateError extends RuntError {
  constructor(message: string) {
    super('EINVALID_STATE', message);
  }
}

export class InvalidArgumentError extends RuntError {
  constructor(message: string) {
    super('EINVALID_ARGUMENT', message);
  }
}

/** A step of the plan failed inside the container's init. */
export class StepError extends RuntError {
  constructor(
    readonly step: number,
    readonly field: string,
    readonly errno: number,
    readonly errnoName: string,
    detail: string,
  ) {
    super('ESTEP_FAILED', `${field}: ${detail}${errnoName ? `: ${errnoName}` : ''}`);
  }
}

export class HookError extends RuntError {
  constructor(message: string) {
    super('EHOOK_FAILED', message);
  }
}

export class CgroupError extends RuntError {
  constructor(message: string) {
    super('ECGROUP', message);
  }
}
