// linux.resources as data: the cgroup files and values a container gets, each naming the field it
// serves. The controller modules (controllers/) add to a WritePlanner; apply.ts carries the list
// out; `runt explain` prints the same list. Planning may read the host (a probe): which of two file
// names this kernel has, the current devices list, the parent's cpuset. Without a probe (explain
// before anything exists) every file is taken to exist unless a controller says otherwise, reads
// find nothing, and host checks are skipped.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CgroupError } from '../errors.js';
import { tryReadCgroupFile } from './fs.js';

export interface CgroupWrite {
  /** Absolute path of the file (for the eBPF device program: the cgroup directory). */
  file: string;
  value: string;
  /** The spec field the write serves. */
  field: string;
  /** cgroup v2 devices: attach this eBPF program to the directory `file` instead of writing. */
  program?: Uint8Array;
  /** Two values the kernel checks against each other (CFS period and quota, RT period and runtime):
   *  when this write is refused with EINVAL, the next one goes first and this one after it. */
  swapWithNextOnEinval?: boolean;
  /** A failure this returns a message for is not an error: the message is a warning. `read` reads
   *  a file of the host at that moment. */
  tolerate?: (e: unknown, read: (path: string) => string | undefined) => string | undefined;
  /** A failure this returns a message for is thrown as a CgroupError with that message instead
   *  (the errno alone would not say why). */
  explainFailure?: (e: unknown) => string | undefined;
}

export interface CgroupWritePlan {
  writes: CgroupWrite[];
  /** Settings the kernel cannot honour, ignored (runc merely logs them). */
  warnings: string[];
}

/** How planning reads the host. */
export interface CgroupProbe {
  exists(path: string): boolean;
  read(path: string): string | undefined;
}

export const hostProbe: CgroupProbe = {
  exists: existsSync,
  read: (path) => tryReadCgroupFile(dirname(path), basename(path)),
};

/** Where a container's cgroup files are: v1 (with the cgroup2 directory of a hybrid host), or v2. */
export type WriteTarget =
  { version: 'v1'; dirOf(subsystem: string): string | undefined; unified?: string } | { version: 'v2'; dir: string };

type WriteHow = Pick<CgroupWrite, 'swapWithNextOnEinval' | 'tolerate' | 'explainFailure'>;

export class WritePlanner {
  readonly writes: CgroupWrite[] = [];
  readonly warnings: string[] = [];

  constructor(
    readonly target: WriteTarget,
    readonly probe: CgroupProbe | undefined,
  ) {}

  /** The directory holding `subsystem`'s files. A v1 hierarchy that is not mounted is an error
   *  naming the field (without a probe: a placeholder, so explain still shows the write). */
  dir(subsystem: string, field: string): string {
    if (this.target.version === 'v2') return this.target.dir;
    const dir = this.target.dirOf(subsystem);
    if (dir) return dir;
    if (!this.probe) return `<no ${subsystem} hierarchy>`;
    throw new CgroupError(`${field}: the ${subsystem} cgroup hierarchy is not mounted on this host`);
  }

  /** The cgroup2 directory of a hybrid host (v1 `unified` keys), or an error naming the field. */
  unifiedDir(field: string): string {
    const dir = this.target.version === 'v2' ? this.target.dir : this.target.unified;
    if (dir) return dir;
    if (!this.probe) return '<no cgroup2 mount>';
    throw new CgroupError(`${field}: this host has only cgroup v1 hierarchies (unified needs cgroup v2)`);
  }

  /** Whether dir has `file`; `assumed` without a probe. */
  has(dir: string, file: string, assumed = true): boolean {
    return this.probe ? this.probe.exists(join(dir, file)) : assumed;
  }

  /** A file's trimmed text; undefined when it cannot be read or there is no probe. */
  read(dir: string, file: string): string | undefined {
    return this.probe?.read(join(dir, file));
  }

  /** A file the check needs: an error when it cannot be read; undefined without a probe. */
  readRequired(dir: string, file: string): string | undefined {
    if (!this.probe) return undefined;
    const text = this.probe.read(join(dir, file));
    if (text === undefined) throw new CgroupError(`${join(dir, file)}: cannot be read`);
    return text;
  }

  write(dir: string, file: string, value: string, field: string, how: WriteHow = {}): void {
    this.writes.push({ file: join(dir, file), value, field, ...how });
  }

  /** cgroup v2: `file` must exist; a missing one means its controller is not enabled here. */
  writeV2(dir: string, file: string, value: string, field: string, how: WriteHow = {}): void {
    if (this.probe && !this.probe.exists(join(dir, file))) {
      const controller = file.split('.')[0];
      const available = (this.read(dir, 'cgroup.controllers') ?? '').split(/\s+/);
      const why =
        controller !== 'cgroup' && !available.includes(controller)
          ? `the ${controller} controller is not available in ${dir}`
          : `${join(dir, file)} does not exist`;
      throw new CgroupError(`${field}: ${why}`);
    }
    this.write(dir, file, value, field, how);
  }

  /** Two writes the kernel checks against each other: in this order, or the other way round when
   *  the kernel refuses the first (swapWithNextOnEinval). Either may be absent. */
  writePair(first: (() => void) | undefined, second: (() => void) | undefined): void {
    first?.();
    if (first && second) this.writes[this.writes.length - 1].swapWithNextOnEinval = true;
    second?.();
  }

  warn(message: string): void {
    this.warnings.push(message);
  }
}
