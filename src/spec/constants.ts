// Names the OCI runtime spec (and the Linux kernel behind it) recognizes, with their kernel
// numbers where the planner needs them. The validator accepts exactly these names; the features
// document lists them.

/** The runtime-spec version this code implements (features' ociVersionMax, `runt --version`; `runt spec` writes what the installed runc writes). */
export const OCI_VERSION = '1.3.0';

/** Capability name → number (linux/capability.h). CAP_LAST_CAP is the highest known number. */
export const CAPABILITIES: Readonly<Record<string, number>> = Object.freeze({
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
});
export const CAP_LAST_CAP = 40;

/** Rlimit name → resource number (asm-generic/resource.h, as used on x86-64 and arm64). */
export const RLIMITS: Readonly<Record<string, number>> = Object.freeze({
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
});

export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;

export const HOOK_NAMES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;

/** Accepted for linux.rootfsPropagation. The schema lists the four plain names; runc also takes
 *  the recursive ones, so configs written for runc use them. */
export const ROOTFS_PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'] as const;

/** Mount options the runtime recognizes (features.md `mountOptions`). Anything else is passed to
 *  mount(2) as filesystem data, so the validator does not reject unknown options. */
export const MOUNT_OPTIONS = [
  'acl',
  'async',
  'atime',
  'bind',
  'defaults',
  'dev',
  'diratime',
  'dirsync',
  'exec',
  'iversion',
  'lazytime',
  'loud',
  'mand',
  'noacl',
  'noatime',
  'nodev',
  'nodiratime',
  'noexec',
  'noiversion',
  'nolazytime',
  'nomand',
  'norelatime',
  'nostrictatime',
  'nosuid',
  'nosymfollow',
  'private',
  'ratime',
  'rbind',
  'rdev',
  'rdiratime',
  'relatime',
  'remount',
  'rexec',
  'rnoatime',
  'rnodev',
  'rnodiratime',
  'rnoexec',
  'rnorelatime',
  'rnostrictatime',
  'rnosuid',
  'rnosymfollow',
  'ro',
  'rprivate',
  'rrelatime',
  'rro',
  'rrw',
  'rshared',
  'rslave',
  'rstrictatime',
  'rsuid',
  'rsymfollow',
  'runbindable',
  'rw',
  'shared',
  'silent',
  'slave',
  'strictatime',
  'suid',
  'symfollow',
  'sync',
  'tmpcopyup',
  'unbindable',
  'idmap',
  'ridmap',
] as const;

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;

/** Actions that return an errno, so `errnoRet` / `defaultErrnoRet` make sense with them. */
export const SECCOMP_ERRNO_ACTIONS = ['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE'] as const;

export const SECCOMP_OPERATORS = [
  'SCMP_CMP_NE',
  'SCMP_CMP_LT',
  'SCMP_CMP_LE',
  'SCMP_CMP_EQ',
  'SCMP_CMP_GE',
  'SCMP_CMP_GT',
  'SCMP_CMP_MASKED_EQ',
] as const;

/** Every SCMP_ARCH_* name config-linux.md lists, with its byte order: libseccomp puts only
 *  architectures of the native byte order into one filter (src/security/seccomp.ts refuses the
 *  others, and the ones the linked libseccomp does not know, naming the entry). */
export const SECCOMP_ARCHITECTURES = {
  SCMP_ARCH_X86: { endian: 'little' },
  SCMP_ARCH_X86_64: { endian: 'little' },
  SCMP_ARCH_X32: { endian: 'little' },
  SCMP_ARCH_ARM: { endian: 'little' },
  SCMP_ARCH_AARCH64: { endian: 'little' },
  SCMP_ARCH_LOONGARCH64: { endian: 'little' },
  SCMP_ARCH_M68K: { endian: 'big' },
  SCMP_ARCH_MIPS: { endian: 'big' },
  SCMP_ARCH_MIPS64: { endian: 'big' },
  SCMP_ARCH_MIPS64N32: { endian: 'big' },
  SCMP_ARCH_MIPSEL: { endian: 'little' },
  SCMP_ARCH_MIPSEL64: { endian: 'little' },
  SCMP_ARCH_MIPSEL64N32: { endian: 'little' },
  SCMP_ARCH_PPC: { endian: 'big' },
  SCMP_ARCH_PPC64: { endian: 'big' },
  SCMP_ARCH_PPC64LE: { endian: 'little' },
  SCMP_ARCH_S390: { endian: 'big' },
  SCMP_ARCH_S390X: { endian: 'big' },
  SCMP_ARCH_SH: { endian: 'little' },
  SCMP_ARCH_SHEB: { endian: 'big' },
  SCMP_ARCH_PARISC: { endian: 'big' },
  SCMP_ARCH_PARISC64: { endian: 'big' },
  SCMP_ARCH_RISCV64: { endian: 'little' },
} as const satisfies Record<string, { endian: 'little' | 'big' }>;

export type SeccompArchitecture = keyof typeof SECCOMP_ARCHITECTURES;

export const SECCOMP_ARCHES = Object.keys(SECCOMP_ARCHITECTURES) as SeccompArchitecture[];

export const SECCOMP_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const;

/** A syscall has at most six arguments. */
export const SECCOMP_MAX_ARG_INDEX = 5;

export const PERSONALITY_DOMAINS = ['LINUX', 'LINUX32'] as const;

export const IO_PRIORITY_CLASSES = ['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE'] as const;

export const SCHEDULER_POLICIES = [
  'SCHED_OTHER',
  'SCHED_FIFO',
  'SCHED_RR',
  'SCHED_BATCH',
  'SCHED_ISO',
  'SCHED_IDLE',
  'SCHED_DEADLINE',
] as const;

export const SCHEDULER_FLAGS = [
  'SCHED_FLAG_RESET_ON_FORK',
  'SCHED_FLAG_RECLAIM',
  'SCHED_FLAG_DL_OVERRUN',
  'SCHED_FLAG_KEEP_POLICY',
  'SCHED_FLAG_KEEP_PARAMS',
  'SCHED_FLAG_UTIL_CLAMP_MIN',
  'SCHED_FLAG_UTIL_CLAMP_MAX',
] as const;

export const MEMORY_POLICY_MODES = [
  'MPOL_DEFAULT',
  'MPOL_BIND',
  'MPOL_INTERLEAVE',
  'MPOL_WEIGHTED_INTERLEAVE',
  'MPOL_PREFERRED',
  'MPOL_PREFERRED_MANY',
  'MPOL_LOCAL',
] as const;

export const MEMORY_POLICY_FLAGS = ['MPOL_F_NUMA_BALANCING', 'MPOL_F_RELATIVE_NODES', 'MPOL_F_STATIC_NODES'] as const;

export const DEVICE_TYPES = ['c', 'b', 'u', 'p'] as const;

/** linux.resources.devices[].type: `a` (all), `c`, `b`. */
export const DEVICE_CGROUP_TYPES = ['a', 'c', 'b'] as const;

export const TIME_NAMESPACE_CLOCKS = ['boottime', 'monotonic'] as const;
