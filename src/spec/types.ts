// TypeScript shapes of the OCI runtime spec documents: config.json (config.md, config-linux.md),
// the container state (runtime.md) and the features document (features.md, features-linux.md).
// Field names follow the spec exactly. Numbers typed uint64/int64 in the spec arrive as JS numbers:
// values above 2^53 (e.g. RLIM_INFINITY, 18446744073709551615) lose precision in JSON.parse.

export type StringMap = Record<string, string>;

// ---------------------------------------------------------------------------------------------
// config.json

export interface Spec {
  ociVersion: string;
  process?: Process;
  root?: Root;
  hostname?: string;
  domainname?: string;
  mounts?: Mount[];
  hooks?: Hooks;
  annotations?: StringMap;
  linux?: Linux;
}

export interface Root {
  /** Absolute, or relative to the bundle directory. */
  path: string;
  readonly?: boolean;
}

export interface Process {
  terminal?: boolean;
  consoleSize?: ConsoleSize;
  user: User;
  args: string[];
  /** Windows only; kept for completeness. */
  commandLine?: string;
  env?: string[];
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
  ioPriority?: IOPriority;
  scheduler?: Scheduler;
  execCPUAffinity?: CPUAffinity;
}

export interface ConsoleSize {
  height: number;
  width: number;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
  /** Windows only. */
  username?: string;
}

export type CapabilitySet = 'bounding' | 'effective' | 'inheritable' | 'permitted' | 'ambient';
export type Capabilities = Partial<Record<CapabilitySet, string[]>>;

export interface Rlimit {
  /** RLIMIT_* name, e.g. "RLIMIT_NOFILE". */
  type: string;
  soft: number;
  hard: number;
}

export type IOPriorityClass = 'IOPRIO_CLASS_RT' | 'IOPRIO_CLASS_BE' | 'IOPRIO_CLASS_IDLE';
export interface IOPriority {
  class: IOPriorityClass;
  priority?: number;
}

export type SchedulerPolicy = 'SCHED_OTHER' | 'SCHED_FIFO' | 'SCHED_RR' | 'SCHED_BATCH' | 'SCHED_ISO' | 'SCHED_IDLE' | 'SCHED_DEADLINE';
export type SchedulerFlag =
  | 'SCHED_FLAG_RESET_ON_FORK'
  | 'SCHED_FLAG_RECLAIM'
  | 'SCHED_FLAG_DL_OVERRUN'
  | 'SCHED_FLAG_KEEP_POLICY'
  | 'SCHED_FLAG_KEEP_PARAMS'
  | 'SCHED_FLAG_UTIL_CLAMP_MIN'
  | 'SCHED_FLAG_UTIL_CLAMP_MAX';
export interface Scheduler {
  policy: SchedulerPolicy;
  nice?: number;
  priority?: number;
  flags?: SchedulerFlag[];
  runtime?: number;
  deadline?: number;
  period?: number;
}

/** CPU lists such as "0-3,7". */
export interface CPUAffinity {
  initial?: string;
  final?: string;
}

export interface Mount {
  /** Path inside the container; the validator requires it to be absolute. */
  destination: string;
  type?: string;
  /** For bind mounts: absolute, or relative to the bundle. */
  source?: string;
  options?: string[];
  /** Id-mapped mount (with the `idmap` / `ridmap` option). Given together or not at all. */
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
}

export interface IDMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Hook {
  /** Absolute path. */
  path: string;
  args?: string[];
  env?: string[];
  /** Seconds, > 0. */
  timeout?: number;
}

export type HookName = 'prestart' | 'createRuntime' | 'createContainer' | 'startContainer' | 'poststart' | 'poststop';
export type Hooks = Partial<Record<HookName, Hook[]>>;

// ---------------------------------------------------------------------------------------------
// config.json: linux

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface Namespace {
  type: NamespaceType;
  /** Join the namespace at this absolute path instead of creating one. */
  path?: string;
}

export type RootfsPropagation = 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave' | 'unbindable' | 'runbindable';

export interface Linux {
  namespaces?: Namespace[];
  uidMappings?: IDMapping[];
  gidMappings?: IDMapping[];
  timeOffsets?: Partial<Record<'boottime' | 'monotonic', TimeOffset>>;
  devices?: Device[];
  netDevices?: Record<string, NetDevice>;
  cgroupsPath?: string;
  resources?: Resources;
  rootfsPropagation?: RootfsPropagation;
  seccomp?: Seccomp;
  sysctl?: StringMap;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
  intelRdt?: IntelRdt;
  memoryPolicy?: MemoryPolicy;
  personality?: Personality;
}

export interface TimeOffset {
  secs?: number;
  nanosecs?: number;
}

export type DeviceType = 'c' | 'b' | 'u' | 'p';

export interface Device {
  type: DeviceType;
  /** Absolute path inside the container. */
  path: string;
  /** Required unless type is "p". */
  major?: number;
  minor?: number;
  /** Decimal. Engines (podman) may include the file-type bits of st_mode. */
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface NetDevice {
  /** Name inside the container; defaults to the key (the host-side name). */
  name?: string;
}

export interface Resources {
  devices?: DeviceCgroup[];
  memory?: MemoryResources;
  cpu?: CPUResources;
  pids?: PidsResources;
  blockIO?: BlockIO;
  hugepageLimits?: HugepageLimit[];
  network?: NetworkResources;
  rdma?: Record<string, RdmaLimit>;
  /** cgroup v2 file name → value. */
  unified?: StringMap;
}

export interface DeviceCgroup {
  allow: boolean;
  /** "a", "c" or "b"; unset means all. */
  type?: string;
  /** Unset means all (`*`). */
  major?: number;
  minor?: number;
  /** Any combination of r, w, m. */
  access?: string;
}

export interface MemoryResources {
  /** -1 means unlimited. */
  limit?: number;
  reservation?: number;
  /** Memory + swap; -1 means unlimited. */
  swap?: number;
  kernel?: number;
  kernelTCP?: number;
  swappiness?: number;
  disableOOMKiller?: boolean;
  useHierarchy?: boolean;
  checkBeforeUpdate?: boolean;
}

export interface CPUResources {
  shares?: number;
  /** -1 means no limit. */
  quota?: number;
  burst?: number;
  period?: number;
  realtimeRuntime?: number;
  realtimePeriod?: number;
  cpus?: string;
  mems?: string;
  idle?: number;
}

export interface PidsResources {
  /** 0 or -1 means no limit. */
  limit: number;
}

export interface BlockIODevice {
  major: number;
  minor: number;
}
export interface WeightDevice extends BlockIODevice {
  weight?: number;
  leafWeight?: number;
}
export interface ThrottleDevice extends BlockIODevice {
  rate: number;
}

export interface BlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}

export interface HugepageLimit {
  /** e.g. "2MB", "1GB". */
  pageSize: string;
  limit: number;
}

export interface NetworkResources {
  classID?: number;
  priorities?: { name: string; priority: number }[];
}

export interface RdmaLimit {
  hcaHandles?: number;
  hcaObjects?: number;
}

export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';
export type SeccompOperator =
  'SCMP_CMP_NE' | 'SCMP_CMP_LT' | 'SCMP_CMP_LE' | 'SCMP_CMP_EQ' | 'SCMP_CMP_GE' | 'SCMP_CMP_GT' | 'SCMP_CMP_MASKED_EQ';
export type SeccompFlag =
  'SECCOMP_FILTER_FLAG_TSYNC' | 'SECCOMP_FILTER_FLAG_LOG' | 'SECCOMP_FILTER_FLAG_SPEC_ALLOW' | 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV';

export interface Seccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** SCMP_ARCH_* names. */
  architectures?: string[];
  flags?: SeccompFlag[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompSyscall[];
}

export interface SeccompSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface SeccompArg {
  /** 0..5 */
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

/** Loosely typed: runt does not implement Intel RDT. */
export interface IntelRdt {
  closID?: string;
  schemata?: string[];
  l3CacheSchema?: string;
  memBwSchema?: string;
  enableMonitoring?: boolean;
}

export interface MemoryPolicy {
  mode: string;
  nodes?: string;
  flags?: string[];
}

export interface Personality {
  domain: 'LINUX' | 'LINUX32';
  flags?: string[];
}

// ---------------------------------------------------------------------------------------------
// State (runtime.md)

/** The spec's four states plus runc's `paused`. */
export type ContainerStatus = 'creating' | 'created' | 'running' | 'stopped' | 'paused';

export interface State {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  /** Required when status is created or running. */
  pid?: number;
  /** Absolute path of the bundle. */
  bundle: string;
  annotations?: StringMap;
  /** runt's addition for a container on CNI networks: its interface and addresses on each. */
  networks?: Array<{ network: string; ifname: string; addresses: string[]; mac?: string }>;
}

/** Sent to the seccomp agent at linux.seccomp.listenerPath (config-linux.md). */
export interface ContainerProcessState {
  ociVersion: string;
  /** Names of the fds sent with SCM_RIGHTS, in order, e.g. ["seccompFd"]. */
  fds: string[];
  pid: number;
  metadata?: string;
  state: State;
}

// ---------------------------------------------------------------------------------------------
// Features (features.md, features-linux.md)

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks?: HookName[];
  mountOptions?: string[];
  annotations?: StringMap;
  potentiallyUnsafeConfigAnnotations?: string[];
  linux?: LinuxFeatures;
}

export interface EnabledFeature {
  enabled?: boolean;
}

export interface LinuxFeatures {
  namespaces?: NamespaceType[];
  capabilities?: string[];
  cgroup?: {
    v1?: boolean;
    v2?: boolean;
    systemd?: boolean;
    systemdUser?: boolean;
    rdma?: boolean;
  };
  seccomp?: {
    enabled?: boolean;
    actions?: SeccompAction[];
    operators?: SeccompOperator[];
    archs?: string[];
    knownFlags?: SeccompFlag[];
    supportedFlags?: SeccompFlag[];
  };
  apparmor?: EnabledFeature;
  selinux?: EnabledFeature;
  memoryPolicy?: {
    modes?: string[];
    flags?: string[];
  };
  intelRdt?: EnabledFeature & {
    schemata?: boolean;
    monitoring?: boolean;
  };
  mountExtensions?: {
    idmap?: EnabledFeature;
  };
  netDevices?: EnabledFeature;
}
