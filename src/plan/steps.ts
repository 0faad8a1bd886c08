// The contract between the TypeScript planner and the native executor.
//
// A plan is an ordered list of steps. TypeScript decides *what* happens and in which order (policy);
// the addon (csrc/) turns the list into plain C structures before clone() and the container's
// child process carries them out one by one with raw syscalls (mechanism). Every step names the
// config field it serves (`field`) so that `runt explain` and `--trace` can show where it came from.
//
// All numbers are plain integers (flags are already the kernel's bit values). Paths marked
// "in root" are resolved inside the current root directory fd (see `openRoot`) with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): a symlink in the image can never lead outside it.

export type MkdirMode = 'none' | 'dir' | 'file';

interface StepBase {
  /** The config field this step serves, e.g. `mounts[3]` or `linux.namespaces[0]`. */
  field: string;
  /** Human explanation used by `runt explain`; ignored by the addon. */
  why?: string;
}

/** Tell the parent a sync point was reached and wait for its ACK. The ACK may carry a payload
 *  (e.g. the state JSON for hooks) that the child keeps in payload slot `slot`. */
export interface SyncStep extends StepBase {
  op: 'sync';
  tag: number;
  slot?: number;
}
/** setns(fd, nstype); fd was opened by the parent (CLOEXEC) and is inherited by the child. */
export interface SetnsStep extends StepBase {
  op: 'setns';
  fd: number;
  nstype: number;
  name: string;
}
export interface UnshareStep extends StepBase {
  op: 'unshare';
  flags: number;
}
/** clone3(CLONE_PARENT | CLONE_PIDFD | flags): the new process (a sibling, so a child of the
 *  runtime) carries on with the remaining steps; the intermediate sends MSG_PID with the pidfd
 *  attached and exits 0. Needed after joining or unsharing a PID namespace. */
export interface ForkStep extends StepBase {
  op: 'fork';
  flags: number;
}
/** mount(source, target, fstype, flags, data). With `targetInRoot`, target is opened in root
 *  (created first as `mkdir` says) and mounted through /proc/self/fd/N. `sourceInRoot` likewise
 *  for the source of a bind. `optional`: a missing target (or source) skips the step.
 *  `keepFlags`: OR the target's current locked flags (nosuid, nodev, noexec, ro?, atime) from
 *  statvfs into flags (needed for MS_REMOUNT|MS_BIND in a user namespace). `mode` is used for
 *  created directories/files (default 0755). `expectFs` (magic number): after mounting, the
 *  target must have this f_type (statfs) or the step fails with EXDEV. `copyUp` (tmpcopyup): the
 *  directory the new mount covers is opened first and, once the mount is made and checked to be a
 *  tmpfs, its tree (files, directories, symlinks, fifos with modes, owners and times) is copied in
 *  with fd-relative syscalls that never follow a symlink. */
export interface MountStep extends StepBase {
  op: 'mount';
  source: string | null;
  target: string;
  fstype: string | null;
  flags: number;
  data: string | null;
  targetInRoot: boolean;
  sourceInRoot?: boolean;
  mkdir: MkdirMode;
  mode?: number;
  optional?: boolean;
  keepFlags?: boolean;
  expectFs?: number;
  copyUp?: boolean;
}
/** Set the root used by every "in root" path: open(path, O_PATH|O_DIRECTORY). */
export interface OpenRootStep extends StepBase {
  op: 'openRoot';
  path: string;
}
/** fchdir(root); pivot_root(".", "."); mount(".", MS_SLAVE|MS_REC); umount2(".", MNT_DETACH);
 *  chdir("/"); root fd reopened as "/". */
export interface PivotRootStep extends StepBase {
  op: 'pivotRoot';
}
/** --no-pivot: fchdir(root); mount(".", "/", MS_MOVE); chroot("."); chdir("/"). */
export interface MoveRootStep extends StepBase {
  op: 'moveRoot';
}
/** No mount namespace of its own: fchdir(root); chroot("."); chdir("/"); root fd reopened as "/". */
export interface ChrootStep extends StepBase {
  op: 'chroot';
}
/** Mask a path in root: missing → skip; directory → an empty tmpfs; otherwise a bind of the
 *  container's /dev/null, opened without following symlinks and checked to be the 1:3 character
 *  device (ENODEV otherwise; CVE-2025-31133). Both are made read-only (and nosuid, noexec) while
 *  still detached (fsmount / open_tree + mount_setattr), then moved onto the path: a mask is never
 *  writable, whatever comes after. `expectFs` (magic number): the path must be on this filesystem
 *  (statfs) or the step fails with EXDEV before anything is mounted. */
export interface MaskStep extends StepBase {
  op: 'mask';
  path: string;
  expectFs?: number;
}
/** mknodat in root (parent directories created 0755), then fchownat and fchmodat to the exact mode
 *  (umask does not apply). What the image has there already: the same node is left as is; anything
 *  else (a symlink, a file, other numbers) is unlinked and the node made; a directory fails. */
export interface MknodStep extends StepBase {
  op: 'mknod';
  path: string;
  mode: number;
  major: number;
  minor: number;
  uid: number;
  gid: number;
}
/** symlinkat(target, root, path); an existing path is left as is. */
export interface SymlinkStep extends StepBase {
  op: 'symlink';
  target: string;
  path: string;
}
/** Write `data` to `path` (/proc/...) through a procfs nothing is mounted over (csrc/procfs.h: a
 *  fresh fsmount'ed instance, else a non-recursive clone of /proc, else /proc, its root checked), opened
 *  beneath it without following symlinks or crossing a mount, and checked to be on it (sysctls;
 *  CVE-2025-52881). */
export interface WriteProcStep extends StepBase {
  op: 'writeProc';
  path: string;
  data: string;
}
export interface HostnameStep extends StepBase {
  op: 'sethostname';
  name: string;
}
export interface DomainnameStep extends StepBase {
  op: 'setdomainname';
  name: string;
}
/** soft/hard: -1 means RLIM_INFINITY. */
export interface RlimitStep extends StepBase {
  op: 'setrlimit';
  resource: number;
  soft: number;
  hard: number;
}
export interface PrctlStep extends StepBase {
  op: 'prctl';
  option: number;
  arg2: number;
}
/** Drop from the bounding set every capability 0..lastCap not listed in `keep`. */
export interface CapBoundingStep extends StepBase {
  op: 'capBounding';
  keep: number[];
  lastCap: number;
}
/** capset() with the three sets (capability numbers). */
export interface CapsetStep extends StepBase {
  op: 'capset';
  effective: number[];
  permitted: number[];
  inheritable: number[];
}
/** Clear the ambient set, then raise each listed capability. */
export interface AmbientStep extends StepBase {
  op: 'ambient';
  caps: number[];
}
export interface SetgroupsStep extends StepBase {
  op: 'setgroups';
  gids: number[];
}
export interface SetresgidStep extends StepBase {
  op: 'setresgid';
  gid: number;
}
export interface SetresuidStep extends StepBase {
  op: 'setresuid';
  uid: number;
}
export interface UmaskStep extends StepBase {
  op: 'umask';
  mask: number;
}
export interface ChdirStep extends StepBase {
  op: 'chdir';
  path: string;
}
export interface SetsidStep extends StepBase {
  op: 'setsid';
}
/** Open the container's /dev/ptmx, unlock, open the peer; send the master to the parent
 *  (MSG_FD, tag 1, SCM_RIGHTS); make the slave fds 0-2, setsid(), TIOCSCTTY, set the size.
 *  `console` (the init): the peer is also bound on /dev/console through fds only: /dev is opened in
 *  root, a /dev/console that is not a regular file or a character device (a symlink the image
 *  planted) is removed, an empty file is created in its place if needed and opened O_NOFOLLOW, and
 *  open_tree(peer) + move_mount put the pty there (CVE-2025-52565: no path is followed). */
export interface TerminalStep extends StepBase {
  op: 'terminal';
  rows: number;
  cols: number;
  console?: boolean;
}
/** Run a hook inside the child: fork, in the grandchild dup a pipe to stdin (payload slot
 *  `stdinSlot` written to it), execve(path, args, env); wait up to timeoutMs (0 = none), killing
 *  it with SIGKILL on timeout. A non-zero exit fails the step (errno 0, message says the status). */
export interface HookStep extends StepBase {
  op: 'hook';
  path: string;
  args: string[];
  env: string[];
  timeoutMs: number;
  stdinSlot: number;
}
/** Find the executable (PATH from `searchPath` when `name` has no '/', inside the current root),
 *  check it is an executable regular file; remember the result for `exec`. ENOENT/EACCES fail. */
export interface ResolveExecStep extends StepBase {
  op: 'resolveExec';
  name: string;
  searchPath: string;
}
/** Send MSG_PARKED, then block reading one byte from fd (the exec fifo, opened O_RDWR by the
 *  parent). EOF or error fails the step. */
export interface ParkStep extends StepBase {
  op: 'park';
  fd: number;
}
/** seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) with a BPF program compiled in the parent
 *  (`filter` is the raw struct sock_filter array). With SECCOMP_FILTER_FLAG_NEW_LISTENER the
 *  returned fd is sent to the parent (MSG_FD, tag 2) and closed. */
export interface SeccompStep extends StepBase {
  op: 'seccomp';
  filter: Uint8Array;
  flags: number;
}
/** keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a fresh session keyring, so the container never sees
 *  the host's (ENOSYS is ignored). */
/** Create a directory (and missing parents, 0755) in root; an existing one is fine. */
export interface MkdirStep extends StepBase {
  op: 'mkdir';
  path: string;
  mode: number;
}
export interface JoinKeyringStep extends StepBase {
  op: 'joinKeyring';
  name: string;
}
/** The fd work of exec, before the seccomp filter: close_range(3 + preserveFds, ~0,
 *  CLOSE_RANGE_CLOEXEC); fds 3 .. 3+preserveFds-1 lose FD_CLOEXEC; clear O_NONBLOCK on 0-2. */
export interface PrepareFdsStep extends StepBase {
  op: 'prepareFds';
  preserveFds: number;
}
/** execve the path found by resolveExec (or `name` looked up now) with args and env (the fd work of
 *  prepareFds is done here if no prepareFds step ran). */
export interface ExecStep extends StepBase {
  op: 'exec';
  name: string;
  args: string[];
  env: string[];
  searchPath: string;
  preserveFds: number;
}

/** sched_setattr(0, {policy, nice, priority, flags, runtime, deadline, period}, 0). */
export interface SchedStep extends StepBase {
  op: 'sched';
  policy: number;
  nice: number;
  priority: number;
  flags: number;
  runtime: number;
  deadline: number;
  period: number;
}
/** ioprio_set(IOPRIO_WHO_PROCESS, 0, class << 13 | level). */
export interface IoprioStep extends StepBase {
  op: 'ioprio';
  class: number;
  level: number;
}
/** sched_setaffinity(0, mask of `cpus`). */
export interface AffinityStep extends StepBase {
  op: 'affinity';
  cpus: number[];
}
/** set_mempolicy(mode (with MPOL_F_* flags), mask of `nodes`, maxnode). */
export interface MempolicyStep extends StepBase {
  op: 'mempolicy';
  mode: number;
  nodes: number[];
}
/** personality(persona). */
export interface PersonalityStep extends StepBase {
  op: 'personality';
  persona: number;
}
/** mount_setattr(target opened in root, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0),
 *  {attr_set, attr_clr, propagation}): the recursive mount options (rro, rnosuid, ...). */
export interface MountSetattrStep extends StepBase {
  op: 'mountSetattr';
  target: string;
  attrSet: number;
  attrClr: number;
  propagation: number;
  recursive: boolean;
}

/** move_mount(fd, "", target opened in root (created as `mkdir` says), MOVE_MOUNT_F_EMPTY_PATH |
 *  MOVE_MOUNT_T_EMPTY_PATH): attach a detached mount the runtime prepared (an idmapped bind). */
export interface MoveMountStep extends StepBase {
  op: 'moveMount';
  fd: number;
  target: string;
  mkdir: MkdirMode;
}

/** Move `name` out of the runtime's network namespace (fd: a NETLINK_ROUTE socket opened there) into
 *  this one as `newName` (RTM_NEWLINK with IFLA_NET_NS_PID and IFLA_IFNAME), re-add its permanent
 *  global addresses (RTM_NEWADDR) and set it up. */
export interface NetDeviceStep extends StepBase {
  op: 'netDevice';
  fd: number;
  name: string;
  newName?: string;
}

export type Step =
  | SyncStep
  | SetnsStep
  | UnshareStep
  | ForkStep
  | MountStep
  | OpenRootStep
  | PivotRootStep
  | MoveRootStep
  | MaskStep
  | MknodStep
  | SymlinkStep
  | WriteProcStep
  | HostnameStep
  | DomainnameStep
  | RlimitStep
  | PrctlStep
  | CapBoundingStep
  | CapsetStep
  | AmbientStep
  | SetgroupsStep
  | SetresgidStep
  | SetresuidStep
  | UmaskStep
  | ChdirStep
  | SetsidStep
  | TerminalStep
  | HookStep
  | ResolveExecStep
  | ParkStep
  | SeccompStep
  | ExecStep
  | JoinKeyringStep
  | MkdirStep
  | PrepareFdsStep
  | SchedStep
  | IoprioStep
  | AffinityStep
  | MempolicyStep
  | PersonalityStep
  | MountSetattrStep
  | MoveMountStep
  | NetDeviceStep
  | ChrootStep;

/** What the addon needs besides the steps to start the container's first process. */
export interface SpawnConfig {
  /** CLONE_NEW* flags given to clone3 (namespaces created with the process). */
  cloneFlags: number;
  /** Parent fds that become the child's 0, 1, 2 (-1: keep the inherited one). */
  stdio: [number, number, number];
  /** Fds 3 .. 3+preserveFds-1 are passed through untouched; internal fds are moved above. */
  preserveFds: number;
  /** Send MSG_TRACE after each step (step index, microseconds, 0). */
  trace: boolean;
  /** Death signal for the child (0: none). */
  pdeathSig: number;
  /** A cgroup2 directory fd: the child is born in that cgroup (clone3 CLONE_INTO_CGROUP). */
  cgroupFd?: number;
  /** cgroup v1 `tasks` files (opened O_WRONLY): the child writes "0" into each before anything else. */
  cgroupTaskFds?: number[];
  steps: Step[];
}

/** Messages from the child (csrc/protocol.h mirrors these numbers). */
export const MSG = {
  ERROR: 1, // step, errno, text
  SYNC: 2, // step (index of the sync step), tag in `pid` field
  PID: 3, // pid of the process made by a fork step; pidfd attached
  PARKED: 4, // reached the park step
  TRACE: 5, // step, usec
  FD: 6, // tag in `pid` field, fd attached
  ACK: 100, // parent → child, with optional payload
  ABORT: 101, // parent → child
} as const;

export const SYNC_TAG = {
  INIT: 1, // child exists: parent writes id maps, places it in cgroups, writes oom_score_adj
  CREATE_RUNTIME: 2, // mounts done, before pivot_root: parent runs prestart + createRuntime hooks
  TIME_OFFSETS: 4, // after unshare(CLONE_NEWTIME), before the fork: parent writes timens_offsets
  START_STATE: 3, // before parking, only with startContainer hooks: the `created` state for their stdin (slot 1)
  NETWORK: 5, // network namespace made, no mount yet: parent runs the CNI plugins (ADD), writes /etc files
} as const;

export const FD_TAG = { TERMINAL: 1, SECCOMP_LISTENER: 2 } as const;
