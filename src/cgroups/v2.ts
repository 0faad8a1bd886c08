// The cgroup v2 driver: one directory in the unified hierarchy.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { CgroupError } from '../errors.js';
import {
  holdsProcesses,
  mkdirLevels,
  pidsBelow,
  removeCgroup,
  removeCgroupIfEmpty,
  sleepMs,
  tryReadCgroupFile,
  writeCgroupFile,
} from './fs.js';
import type { CgroupLayoutKind, CgroupManager, CgroupMountSource, CgroupStats } from './manager.js';
import { type BirthCgroups, openBirthCgroups } from './birth.js';
import type { Resources } from '../spec/types.js';
import { applyCgroupWrites, type DeviceFilterAttacher, fsWriter } from './apply.js';
import { planCgroupWrites } from './controllers/index.js';
import { warnToStderr, type Warn } from './warn.js';
import { type CgroupWritePlan, hostProbe } from './writes.js';
import { v2Stats } from './stats.js';
import { v2Frozen } from './freezer.js';
import { pathsOfV2 } from './paths.js';
import { native } from '../native.js';

const FREEZE_TIMEOUT_MS = 2000;

export class V2Manager implements CgroupManager {
  readonly kind: CgroupLayoutKind = 'v2';
  readonly paths: Record<string, string>;

  constructor(
    readonly mountpoint: string,
    readonly dir: string,
    private readonly attachDeviceFilter: DeviceFilterAttacher | undefined = nativeDeviceFilterAttacher(),
  ) {
    this.paths = pathsOfV2(dir);
  }

  create(): void {
    if (holdsProcesses(this.dir)) throw new CgroupError(`cgroup ${this.dir} already exists and holds processes`);
    // Controllers must be enabled in subtree_control of every ancestor for their files to show up
    // in the container's cgroup.
    const levels: string[] = [];
    for (let d = dirname(this.dir); d.startsWith(this.mountpoint); d = dirname(d)) {
      levels.unshift(d);
      if (d === this.mountpoint) break;
    }
    for (const d of levels) if (existsSync(d)) enableControllers(d);
    mkdirLevels(this.mountpoint, this.dir, (made) => {
      if (made !== this.dir) enableControllers(made);
    });
  }

  planWrites(resources: Resources, probe = true): CgroupWritePlan {
    return planCgroupWrites(resources, { version: 'v2', dir: this.dir }, probe ? hostProbe : undefined);
  }

  apply(resources: Resources, warn: Warn = warnToStderr): void {
    applyCgroupWrites(this.planWrites(resources), fsWriter(this.attachDeviceFilter), warn);
  }

  join(pid: number): void {
    writeCgroupFile(this.dir, 'cgroup.procs', String(pid));
  }

  pids(): number[] {
    return [...pidsBelow(this.dir)].sort((a, b) => a - b);
  }

  freeze(): void {
    this.setFrozen(true);
  }

  thaw(): void {
    this.setFrozen(false);
  }

  private setFrozen(frozen: boolean): void {
    if (!existsSync(`${this.dir}/cgroup.freeze`)) {
      throw new CgroupError(`${this.dir}/cgroup.freeze: missing (the cgroup v2 freezer needs Linux 5.2)`);
    }
    writeCgroupFile(this.dir, 'cgroup.freeze', frozen ? '1' : '0');
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    while (this.eventsFrozen() !== frozen) {
      if (Date.now() > deadline) {
        if (frozen) writeCgroupFile(this.dir, 'cgroup.freeze', '0');
        throw new CgroupError(`cgroup ${this.dir} did not ${frozen ? 'freeze' : 'thaw'} within ${FREEZE_TIMEOUT_MS} ms`);
      }
      sleepMs(1);
    }
  }

  private eventsFrozen(): boolean {
    return /^frozen 1$/m.test(tryReadCgroupFile(this.dir, 'cgroup.events') ?? '');
  }

  isFrozen(): boolean {
    return v2Frozen(this.dir);
  }

  /** SIGKILL every process at once through cgroup.kill (Linux 5.14): nothing can fork away from
   *  it. False when the kernel has no cgroup.kill. */
  killAll(): boolean {
    if (!existsSync(`${this.dir}/cgroup.kill`)) return false;
    writeCgroupFile(this.dir, 'cgroup.kill', '1');
    return true;
  }

  stats(): CgroupStats {
    return v2Stats(this.dir);
  }

  openBirth(opts: { newUserNamespace: boolean; dryRun?: boolean }): BirthCgroups | null {
    return openBirthCgroups(this.paths, opts);
  }

  mountSources(): CgroupMountSource[] {
    return [{ name: '', fstype: 'cgroup2', data: '', hostDir: this.dir }];
  }

  destroy(): void {
    removeCgroup(this.dir);
  }

  removeIfEmpty(): boolean {
    return removeCgroupIfEmpty(this.dir);
  }
}

/** Enable in dir's cgroup.subtree_control every controller dir has. One at a time: a controller the
 *  kernel refuses here (e.g. a threaded subtree, or processes in a non-root cgroup) must not keep
 *  the others off. */
export function enableControllers(dir: string): void {
  const available = (tryReadCgroupFile(dir, 'cgroup.controllers') ?? '').split(/\s+/).filter(Boolean);
  const enabled = new Set((tryReadCgroupFile(dir, 'cgroup.subtree_control') ?? '').split(/\s+/));
  for (const c of available) {
    if (enabled.has(c)) continue;
    try {
      writeCgroupFile(dir, 'cgroup.subtree_control', `+${c}`);
    } catch (e) {
      if (!(e instanceof CgroupError)) throw e;
    }
  }
}

/** The addon's attachDeviceFilter (raw bpf(2): load, attach with BPF_F_ALLOW_MULTI, detach the old
 *  programs). Loaded lazily, so drivers used against a fake cgroupfs need no addon. */
function nativeDeviceFilterAttacher(): DeviceFilterAttacher {
  return (cgroupDirFd, insns, license) => native().attachDeviceFilter(cgroupDirFd, insns, license);
}
