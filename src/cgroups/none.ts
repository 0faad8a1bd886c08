// A container without cgroups: rootless, where no cgroup is delegated to the caller (a hybrid or v1
// host, or a v2 path the user cannot write). Nothing is made or joined; a resource limit, which only
// a cgroup could enforce, is refused naming its field instead of being dropped. Device rules are the
// exception: in a user namespace no device node can be made, only the host's bound in, and the
// kernel's own permissions on those apply.
import { CgroupError } from '../errors.js';
import type { Resources } from '../spec/types.js';
import type { BirthCgroups } from './birth.js';
import type { CgroupLayoutKind, CgroupManager, CgroupMountSource, CgroupStats } from './manager.js';
import { V2Manager } from './v2.js';
import { validateResources } from './validate.js';
import type { Warn } from './warn.js';
import type { CgroupWritePlan } from './writes.js';

const isSet = (v: unknown): boolean =>
  v !== undefined && v !== null && (typeof v !== 'object' || (Array.isArray(v) ? v.length > 0 : Object.values(v).some(isSet)));

export class NoCgroupManager implements CgroupManager {
  readonly paths: Record<string, string> = {};

  /** `unusedPath`: the cgroupsPath the config asked for, which this container goes without. */
  constructor(
    readonly kind: CgroupLayoutKind,
    private readonly why: string,
    private readonly unusedPath?: string,
  ) {}

  create(): void {}

  /** Nothing to write; a limit is refused naming its field. */
  planWrites(resources: Resources): CgroupWritePlan {
    const r = validateResources(resources) as Record<string, unknown>;
    for (const [key, value] of Object.entries(r)) {
      if (key !== 'devices' && isSet(value)) throw new CgroupError(`linux.resources.${key}: ${this.why}`);
    }
    return { writes: [], warnings: [] };
  }

  /** Runs without the cgroupsPath asked for, as runc does rootless, but says so. */
  apply(resources: Resources, warn?: Warn): void {
    this.planWrites(resources);
    if (this.unusedPath)
      warn?.(`linux.cgroupsPath ${this.unusedPath} is not used: ${this.why}; the container stays in its caller's cgroup`);
  }

  openBirth(): BirthCgroups | null {
    return null;
  }

  join(): void {}

  pids(): number[] {
    return [];
  }

  freeze(): void {
    throw new CgroupError(`cannot freeze: ${this.why}`);
  }

  thaw(): void {
    throw new CgroupError(`cannot thaw: ${this.why}`);
  }

  isFrozen(): boolean {
    return false;
  }

  stats(): CgroupStats {
    return {};
  }

  mountSources(): CgroupMountSource[] {
    return [];
  }

  destroy(): void {}

  removeIfEmpty(): boolean {
    return true;
  }
}

/** A cgroup v2 directory delegated to a rootless caller: the v2 driver, minus the device rules.
 *  Attaching a BPF_CGROUP_DEVICE program needs CAP_SYS_ADMIN in the initial user namespace
 *  (BPF_PROG_QUERY fails with EPERM), and a container in a user namespace has only the host's nodes
 *  bound in, guarded by their own permissions (runc's rootless mode skips device rules the same way). */
export class DelegatedV2Manager extends V2Manager {
  override apply(resources: unknown, warn?: Warn): void {
    super.apply({ ...(resources as object), devices: undefined }, warn);
  }
}
