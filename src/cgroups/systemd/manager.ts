// The systemd cgroup driver (--systemd-cgroup): the container's cgroup is a transient scope unit
// that systemd makes when runt asks for it over D-Bus, with the init's pid in it (PIDs) and the
// cgroup delegated to runt (Delegate=yes). Limits systemd has a property for are set as properties
// (properties.ts), so systemd keeps them on reloads; then every linux.resources field is written
// into the scope's cgroup files as the cgroupfs driver writes them (runc does both too), which also
// covers what systemd has no property for (device filter, io.max, hugetlb, rdma, burst, idle...).
// Reading (pids, stats, freezer, kill) is the v2 driver's, on the scope's directory.
import { existsSync } from 'node:fs';
import { CgroupError } from '../../errors.js';
import type { Resources } from '../../spec/types.js';
import type { DeviceFilterAttacher } from '../apply.js';
import type { BirthCgroups } from '../birth.js';
import type { CgroupLayoutKind, CgroupManager, CgroupMountSource, CgroupStats } from '../manager.js';
import { V2Manager } from '../v2.js';
import type { CgroupWritePlan } from '../writes.js';
import { validateResources } from '../validate.js';
import type { Warn } from '../warn.js';
import { systemd, SystemdError } from './dbus.js';
import { annotationProperties, resourceProperties, type UnitProperty } from './properties.js';

import { SYSTEMD_UNIT_KEY } from './key.js';

export { SYSTEMD_UNIT_KEY };

export interface SystemdManagerOptions {
  mountpoint: string;
  unit: string;
  slice: string;
  /** The scope's cgroup directory (where systemd will make it). */
  dir: string;
  /** True for a container whose scope exists (re-opened from its state). */
  started: boolean;
  description?: string;
  annotations?: Record<string, string>;
  attachDeviceFilter?: DeviceFilterAttacher;
}

export class SystemdManager implements CgroupManager {
  readonly kind: CgroupLayoutKind = 'v2';
  readonly paths: Record<string, string>;
  private readonly files: V2Manager;
  private started: boolean;
  private pending?: { resources: Resources; warn?: Warn };

  constructor(private readonly o: SystemdManagerOptions) {
    this.files = new V2Manager(o.mountpoint, o.dir, o.attachDeviceFilter);
    this.paths = { '': o.dir, [SYSTEMD_UNIT_KEY]: o.unit };
    this.started = o.started;
  }

  get unit(): string {
    return this.o.unit;
  }

  /** Nothing is made yet (a scope needs a process): ask systemd now whether it can be, so that a
   *  missing systemd, a unit that exists or a slice that does not fail before the init is started. */
  create(): void {
    // systemd would make any slice on demand; a slice counts as existing when it has a unit file or
    // is active (made by someone, as the kubelet makes its pod slices).
    const slice = systemd.unitState(this.o.slice);
    if (slice.load !== 'loaded' || (!slice.fragment && slice.active !== 'active')) {
      throw new CgroupError(`linux.cgroupsPath: systemd has no slice ${this.o.slice} (no unit file, not active)`);
    }
    const unit = systemd.unitState(this.o.unit);
    if (unit.load === 'loaded' && unit.active !== 'inactive') {
      throw new CgroupError(`linux.cgroupsPath: systemd unit ${this.o.unit} already exists (${unit.active})`);
    }
    if (existsSync(this.o.dir)) throw new CgroupError(`linux.cgroupsPath: cgroup ${this.o.dir} already exists`);
  }

  /** The file writes (what systemd gets as properties is in properties.ts). */
  planWrites(resources: Resources, probe = true): CgroupWritePlan {
    return this.files.planWrites(resources, probe);
  }

  /** Never: the init is put in the scope by systemd (PIDs of StartTransientUnit at its first sync). */
  openBirth(): BirthCgroups | null {
    return null;
  }

  apply(resources: Resources, warn?: Warn): void {
    const r = validateResources(resources);
    const props = resourceProperties(r);
    if (!this.started) {
      this.pending = { resources: r, warn };
      return;
    }
    systemd.setProperties(this.o.unit, props);
    this.files.apply(r, warn);
  }

  /** The init: StartTransientUnit with it in PIDs, then the files. Any later process: cgroup.procs. */
  join(pid: number): void {
    if (this.started) {
      this.files.join(pid);
      return;
    }
    const r = this.pending?.resources ?? {};
    const props: UnitProperty[] = [
      ['Description', 's', this.o.description ?? `runt container ${this.o.unit}`],
      ['Slice', 's', this.o.slice],
      ['Delegate', 'b', true],
      ['PIDs', 'au', [pid]],
      ['DefaultDependencies', 'b', false],
      ['MemoryAccounting', 'b', true],
      ['CPUAccounting', 'b', true],
      ['IOAccounting', 'b', true],
      ['TasksAccounting', 'b', true],
      ...resourceProperties(r),
      ...annotationProperties(this.o.annotations),
    ];
    try {
      systemd.startUnit(this.o.unit, props);
    } catch (e) {
      if (e instanceof SystemdError && e.dbusName === 'org.freedesktop.systemd1.UnitExists') {
        throw new CgroupError(`linux.cgroupsPath: systemd unit ${this.o.unit} already exists`);
      }
      throw e;
    }
    this.started = true;
    if (!existsSync(this.o.dir)) {
      throw new CgroupError(`linux.cgroupsPath: systemd started ${this.o.unit} but its cgroup is not ${this.o.dir}`);
    }
    this.files.apply(r, this.pending?.warn);
  }

  pids(): number[] {
    return this.files.pids();
  }

  freeze(): void {
    this.files.freeze();
  }

  thaw(): void {
    this.files.thaw();
  }

  isFrozen(): boolean {
    return this.files.isFrozen();
  }

  killAll(): boolean {
    return this.files.killAll();
  }

  stats(): CgroupStats {
    return this.files.stats();
  }

  mountSources(): CgroupMountSource[] {
    return this.files.mountSources();
  }

  /** Stop the unit (systemd removes its cgroup), then whatever is left of the directory. */
  destroy(): void {
    const failure = this.stop();
    this.files.destroy();
    if (failure && existsSync(this.o.dir)) throw failure;
  }

  removeIfEmpty(): boolean {
    const failure = this.stop();
    const gone = this.files.removeIfEmpty();
    if (failure && !gone) throw failure;
    return gone;
  }

  private stop(): Error | undefined {
    if (!this.started) return undefined;
    try {
      systemd.stopUnit(this.o.unit);
      return undefined;
    } catch (e) {
      return e as Error;
    }
  }
}
