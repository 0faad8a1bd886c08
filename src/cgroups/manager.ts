// The one interface the lifecycle uses for cgroups; drivers for v1, v2 and hybrid hosts sit behind it.
import type { Resources } from '../spec/types.js';
import type { BirthCgroups } from './birth.js';
import type { Warn } from './warn.js';
import type { CgroupWritePlan } from './writes.js';

export type CgroupLayoutKind = 'v1' | 'v2' | 'hybrid';

/** One cgroup hierarchy as a `cgroup` mount inside the container should show it. */
export interface CgroupMountSource {
  /** Directory name under the cgroup mount ("cpu", "systemd", "unified"); "" for a pure v2 host
   *  (mounted at the mount point itself). */
  name: string;
  fstype: 'cgroup' | 'cgroup2';
  /** Mount data for a cgroup v1 mount: "cpu,cpuacct" or "none,name=systemd". */
  data: string;
  /** The container's own cgroup directory in this hierarchy on the host (bind source). */
  hostDir: string;
}

/** Resource statistics in runc's `events --stats` shape (types.Stats), fields present when known. */
export type CgroupStats = Record<string, unknown>;

export interface CgroupManager {
  readonly kind: CgroupLayoutKind;
  /** The container's cgroup directory per hierarchy name ("memory", "cpu", ..., "unified" or "" for v2). */
  readonly paths: Record<string, string>;
  /** Make the directories (and enable v2 controllers up the path). Fails when a cgroup exists and
   *  already holds processes, unless shared. */
  create(): void;
  /** linux.resources (validated) as the cgroup writes `apply` carries out, each naming its field
   *  (writes.ts); `probe` false plans without reading the host (explain, before anything exists). */
  planWrites(resources: Resources, probe?: boolean): CgroupWritePlan;
  /** Carry out planWrites(resources): throws naming the field. A field the kernel cannot honour
   *  is skipped with a warning to `warn` (default: stderr). */
  apply(resources: Resources, warn?: Warn): void;
  /** Move a process into every hierarchy. */
  join(pid: number): void;
  /** Pids in the container's cgroup (every process, not only the init). */
  pids(): number[];
  freeze(): void;
  thaw(): void;
  isFrozen(): boolean;
  /** SIGKILL every process in the cgroup in one step where the kernel can (v2's cgroup.kill);
   *  false when it cannot, and the caller signals pid by pid. */
  killAll?(): boolean;
  stats(): CgroupStats;
  /** The fds for the init to be born in its cgroups, or null when the runtime must move it
   *  (birth.ts decides); `dryRun` (explain) opens nothing and gives -1 for each fd. */
  openBirth(opts: { newUserNamespace: boolean; dryRun?: boolean }): BirthCgroups | null;
  /** What a `cgroup` mount inside the container shows (see plan/build.ts). */
  mountSources(): CgroupMountSource[];
  /** Remove the directories (kills nothing; retries while the kernel still lists exiting tasks). */
  destroy(): void;
  /** One rmdir per directory, no reading, no waiting: true when all are gone, false at the first the
   *  kernel refuses as busy (processes in it or cgroups below it; what was removed stays removed). */
  removeIfEmpty(): boolean;
}

export interface CgroupManagerOptions {
  /** linux.cgroupsPath (absolute or relative) or undefined for the default `/runt/<id>`; with
   *  `systemd`, "slice:prefix:name" (default `system.slice:runt:<id>`). */
  cgroupsPath?: string;
  id: string;
  /** The systemd driver: a transient scope unit asked for over D-Bus (cgroup v2 hosts). */
  systemd?: boolean;
  /** The config's annotations: `org.systemd.property.*` become unit properties (systemd driver). */
  annotations?: Record<string, string>;
  /** Root of the cgroup mounts, default /sys/fs/cgroup (tests point it at a fake cgroupfs). */
  mountRoot?: string;
  /** Text of /proc/self/mountinfo to use instead of reading it (tests). */
  mountinfo?: string;
  /** Text of /proc/self/cgroup to use instead of reading it (relative cgroupsPath; tests). */
  selfCgroup?: string;
  /** v2 only: loads and attaches the device eBPF program (default: the addon's attachDeviceFilter). */
  attachDeviceFilter?: (cgroupDirFd: number, insns: Uint8Array, license: string) => void;
}
