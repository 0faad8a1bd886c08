// One-line hints for a failed step: what an errno most likely means for *that* operation. The one
// table `--trace`, `runt explain` docs and error messages share. Rules are tried in order; the first
// whose op and errno match (and whose `when` holds) wins, so specific rules come before generic ones.

export interface HintQuery {
  /** The step's op (`mount`, `pivotRoot`, ...). */
  op: string;
  /** errno name, e.g. "EPERM". */
  errno: string;
  /** Whether the container has its own user namespace (changes what EPERM on mount means). */
  userNamespace?: boolean;
  /** mount steps: the filesystem type (null for binds and remounts). */
  fstype?: string | null;
}

interface HintRule {
  /** Ops the rule is for; omitted: any op. */
  ops?: string[];
  errno: string;
  when?: (q: HintQuery) => boolean;
  hint: string;
}

const MOUNTS = ['mount', 'mask'];

const EXECS = ['resolveExec', 'exec'];
const IDS = ['setresuid', 'setresgid'];

const RULES: HintRule[] = [
  // mounts
  {
    ops: MOUNTS,
    errno: 'EPERM',
    when: (q) => q.userNamespace === true,
    hint: 'in a user namespace, flags locked by the mount outside (nosuid, nodev, noexec, ro, atime) cannot be cleared on a bind, and proc/sysfs/mqueue need their own pid/net/ipc namespace',
  },
  {
    ops: MOUNTS,
    errno: 'EPERM',
    hint: 'mount needs CAP_SYS_ADMIN in the user namespace owning the mount namespace; seccomp or an LSM may also refuse it',
  },
  { ops: MOUNTS, errno: 'ENODEV', hint: 'the kernel does not know this filesystem type (see /proc/filesystems; is its module loaded?)' },
  { ops: MOUNTS, errno: 'ENOENT', hint: 'the source does not exist (bind sources are host paths, relative ones start at the bundle)' },
  {
    ops: MOUNTS,
    errno: 'ENOTDIR',
    hint: "a directory is being mounted on a file or the other way round: the target must have the source's type",
  },
  {
    ops: MOUNTS,
    errno: 'EBUSY',
    hint: 'the target is busy or already mounted with other options (a superblock such as devpts/mqueue cannot change options through a new mount)',
  },
  {
    ops: MOUNTS,
    errno: 'EINVAL',
    when: (q) => q.fstype === null,
    hint: 'a remount or propagation change on something that is not a mount point, or a flag the kernel refuses for a bind',
  },
  { ops: MOUNTS, errno: 'EINVAL', hint: 'the filesystem rejected the options: check mounts[].options for one it does not know' },
  {
    ops: MOUNTS,
    errno: 'EXDEV',
    hint: 'after mounting, the target is not the expected filesystem: something (a symlink, another mount) covers it',
  },
  {
    ops: MOUNTS,
    errno: 'EACCES',
    hint: 'a path component is not searchable, or the source is on a filesystem mounted in a way that forbids this (nodev for a device bind)',
  },
  { ops: MOUNTS, errno: 'ELOOP', hint: 'the path went through a symlink that would leave the rootfs, or a symlink loop' },
  {
    ops: MOUNTS,
    errno: 'EROFS',
    hint: 'a missing target could not be created because the rootfs (or a mount above it) is read-only: add the directory to the image',
  },
  // the root switch
  {
    ops: ['pivotRoot'],
    errno: 'EINVAL',
    hint: 'the new root is not a mount point, / is an initramfs (use --no-pivot), or a parent mount is shared',
  },
  {
    ops: ['pivotRoot', 'moveRoot'],
    errno: 'EPERM',
    hint: "switching the root needs CAP_SYS_ADMIN in the mount namespace's user namespace",
  },
  {
    ops: ['pivotRoot'],
    errno: 'EBUSY',
    hint: "the new root lies on the current root's mount: it must be a mount point of its own (bind it onto itself first)",
  },
  { ops: ['chroot'], errno: 'EPERM', hint: "entering the container's root needs CAP_SYS_CHROOT" },
  { ops: ['chroot'], errno: 'ENOENT', hint: "the container's root (/proc/<init>/root) is gone: its init has exited" },
  { ops: ['moveRoot'], errno: 'EINVAL', hint: 'MS_MOVE needs the rootfs to be a mount point whose parent is not shared' },
  // namespaces
  {
    ops: ['setns'],
    errno: 'EINVAL',
    hint: 'the file is not a namespace of the type given in linux.namespaces (or joining it is not allowed from here)',
  },
  {
    ops: ['setns'],
    errno: 'EPERM',
    hint: "joining needs CAP_SYS_ADMIN in the namespace's owning user namespace: list the user namespace too",
  },
  {
    ops: ['unshare', 'fork'],
    errno: 'ENOSPC',
    hint: 'the namespace limit is reached (/proc/sys/user/max_*_namespaces) or the pid namespace is nested too deep',
  },
  {
    ops: ['unshare', 'fork'],
    errno: 'EPERM',
    hint: 'creating namespaces needs CAP_SYS_ADMIN (user namespaces need /proc/sys/user/max_user_namespaces > 0)',
  },
  {
    ops: ['unshare', 'fork'],
    errno: 'EINVAL',
    hint: 'this kernel lacks one of the namespace types, or a user namespace cannot be made from a chroot/threaded process',
  },
  // the runtime's part at sync points: id maps, cgroups, oom_score_adj, hooks
  {
    ops: ['sync', 'start-up'],
    errno: 'ENOSPC',
    hint: 'joining the cgroup failed: a v1 cpuset with empty cpuset.cpus/mems, or a v2 cgroup with controllers in subtree_control (no internal processes)',
  },
  { ops: ['sync'], errno: 'EINVAL', hint: 'uid_map/gid_map refused: overlapping or empty ranges, or a host id out of range' },
  {
    ops: ['sync'],
    errno: 'EPERM',
    hint: 'id maps can be written once, only for host ids the runtime may use; a cgroup or oom_score_adj write was refused',
  },
  { ops: ['sync', 'start-up'], errno: 'EBUSY', hint: 'the cgroup is busy (freezing, or being removed by another runtime)' },
  // names, limits, capabilities, ids
  {
    ops: ['sethostname', 'setdomainname'],
    errno: 'EPERM',
    hint: 'needs its own UTS namespace (linux.namespaces type "uts") and CAP_SYS_ADMIN in it',
  },
  { ops: ['sethostname', 'setdomainname'], errno: 'EINVAL', hint: 'the name is longer than 64 bytes' },
  { ops: ['setrlimit'], errno: 'EPERM', hint: 'raising a hard limit above the current one needs CAP_SYS_RESOURCE' },
  {
    ops: ['setrlimit'],
    errno: 'EINVAL',
    hint: 'soft is above hard, or the value is above a kernel ceiling (RLIMIT_NOFILE ≤ /proc/sys/fs/nr_open)',
  },
  { ops: ['capBounding'], errno: 'EPERM', hint: 'dropping from the bounding set needs CAP_SETPCAP' },
  {
    ops: ['capset'],
    errno: 'EPERM',
    hint: 'a capability in permitted/effective/inheritable is not in the bounding set (or effective is not a subset of permitted)',
  },
  { ops: ['ambient'], errno: 'EPERM', hint: 'an ambient capability must be both permitted and inheritable, and not blocked by securebits' },
  { ops: IDS, errno: 'EINVAL', hint: "the id has no mapping in the container's user namespace (linux.uidMappings / gidMappings)" },
  { ops: IDS, errno: 'EPERM', hint: 'changing ids needs CAP_SETUID/CAP_SETGID, kept through the switch by PR_SET_KEEPCAPS' },
  { ops: IDS, errno: 'EAGAIN', hint: 'RLIMIT_NPROC is reached for the target user' },
  {
    ops: ['setgroups'],
    errno: 'EPERM',
    hint: 'in a user namespace setgroups is denied until a gid map exists (and forever with /proc/PID/setgroups = deny)',
  },
  { ops: ['setgroups'], errno: 'EINVAL', hint: 'a gid in additionalGids has no mapping in the user namespace' },
  { ops: ['prctl'], errno: 'EINVAL', hint: 'this kernel does not know the prctl option' },
  { ops: ['personality'], errno: 'EINVAL', hint: 'this kernel does not know the execution domain (linux.personality.domain)' },
  // files
  {
    ops: ['writeProc'],
    errno: 'EXDEV',
    hint: "something is mounted over this /proc file, or it is not the procfs's own: runt writes only to the real file",
  },
  {
    ops: ['writeProc'],
    errno: 'ENOENT',
    hint: 'no such sysctl in this namespace (net.* needs the network namespace; not every sysctl is namespaced)',
  },
  { ops: ['writeProc'], errno: 'EROFS', hint: '/proc/sys is read-only here: write sysctls before it is made read-only' },
  { ops: ['writeProc'], errno: 'EACCES', hint: "the sysctl is not writable from the container's user namespace" },
  { ops: ['writeProc'], errno: 'EINVAL', hint: 'the kernel rejected the value for this sysctl' },
  { ops: ['mknod'], errno: 'EPERM', hint: 'mknod needs CAP_MKNOD and is refused in a user namespace: bind-mount the host device instead' },
  { ops: ['openRoot'], errno: 'ENOENT', hint: 'root.path does not exist (a relative path starts at the bundle directory)' },
  { ops: ['openRoot'], errno: 'ENOTDIR', hint: 'root.path is not a directory' },
  { ops: ['symlink'], errno: 'EROFS', hint: 'the link could not be made because the rootfs (or the mount holding /dev) is read-only' },
  { ops: ['symlink'], errno: 'ENOENT', hint: 'a directory above the link is missing and could not be created in the rootfs' },
  { ops: ['mkdir'], errno: 'EROFS', hint: 'process.cwd is missing and the rootfs is read-only: add the directory to the image' },
  { ops: ['mkdir'], errno: 'ENOTDIR', hint: 'a component of process.cwd is a file in the rootfs, not a directory' },
  { ops: ['setsid'], errno: 'EPERM', hint: 'the process already leads a process group (a fork step should have made it a new one)' },
  { ops: ['chdir'], errno: 'ENOENT', hint: 'process.cwd does not exist in the rootfs' },
  { ops: ['chdir'], errno: 'EACCES', hint: 'process.cwd is not searchable by the container user' },
  {
    ops: ['terminal'],
    errno: 'ENOENT',
    hint: '/dev/ptmx is missing: mount devpts with newinstance,ptmxmode=0666 and keep the /dev/ptmx link',
  },
  { ops: ['terminal'], errno: 'EIO', hint: "the pty could not be opened: devpts must be this container's own instance (newinstance)" },
  // process start
  {
    ops: EXECS,
    errno: 'ENOENT',
    hint: 'not found in the rootfs (PATH is searched inside the container); for a binary that exists, its ELF interpreter or libraries are missing',
  },
  {
    ops: EXECS,
    errno: 'EACCES',
    hint: 'not a regular file with an execute bit for the container user, or its filesystem is mounted noexec',
  },
  { ops: EXECS, errno: 'ENOEXEC', hint: 'not an executable for this architecture and without a #! line' },
  { ops: EXECS, errno: 'E2BIG', hint: 'args plus env are larger than the kernel allows (ARG_MAX)' },
  { ops: EXECS, errno: 'EPERM', hint: 'refused by seccomp or an LSM, or a setuid binary under no_new_privs in a nosuid mount' },
  { ops: EXECS, errno: 'ETXTBSY', hint: 'the executable is open for writing by some process' },
  {
    ops: ['seccomp'],
    errno: 'EACCES',
    hint: 'without no_new_privs a filter needs CAP_SYS_ADMIN: set process.noNewPrivileges or keep the capability until the filter is in',
  },
  { ops: ['seccomp'], errno: 'EINVAL', hint: 'the kernel refused the BPF program or a filter flag it does not support' },
  { ops: ['seccomp'], errno: 'EBUSY', hint: 'only one seccomp listener (SCMP_ACT_NOTIFY) is allowed per process tree' },
  { ops: ['park'], errno: 'EPIPE', hint: 'the exec fifo was closed: the container was deleted before `start`' },
  { ops: ['hook'], errno: 'ENOENT', hint: 'the hook path does not exist (it is a host path, looked up before pivot_root)' },
  { ops: ['hook'], errno: 'ETIMEDOUT', hint: 'the hook ran longer than its timeout and was killed' },
  { ops: ['hook'], errno: '', hint: 'the hook exited with a non-zero status: run it by hand with the state JSON on stdin' },
  { ops: ['joinKeyring'], errno: 'EDQUOT', hint: "the user's key quota is full (/proc/sys/kernel/keys/maxkeys): use --no-new-keyring" },
  // process attributes (runtime-spec 1.3)
  {
    ops: ['sched'],
    errno: 'EPERM',
    hint: 'a real-time policy or a lower nice value needs CAP_SYS_NICE (or RLIMIT_RTPRIO); SCHED_DEADLINE also needs the process to be alone in its cpuset',
  },
  {
    ops: ['sched'],
    errno: 'EINVAL',
    hint: 'the values do not fit the policy: SCHED_FIFO/RR need priority 1..99, the others 0; SCHED_DEADLINE needs runtime <= deadline <= period',
  },
  { ops: ['sched'], errno: 'EBUSY', hint: 'SCHED_DEADLINE admission control refused the bandwidth (runtime/period) on these CPUs' },
  { ops: ['ioprio'], errno: 'EPERM', hint: 'the real-time I/O class needs CAP_SYS_ADMIN (or CAP_SYS_NICE)' },
  { ops: ['affinity'], errno: 'EINVAL', hint: "none of the CPUs in execCPUAffinity is online and allowed by the container's cpuset" },
  {
    ops: ['mempolicy'],
    errno: 'EINVAL',
    hint: 'the mode and nodes do not fit: a node outside the allowed set (cpuset.mems), flags the mode refuses, or nodes given to MPOL_DEFAULT/MPOL_LOCAL',
  },
  {
    ops: ['netDevice'],
    errno: 'ENODEV',
    hint: "no network device of that name in the runtime's network namespace (linux.netDevices names the host side)",
  },
  {
    ops: ['netDevice'],
    errno: 'EEXIST',
    hint: 'the container\'s namespace already has a device of that name: pick another, or a template such as "eth%d"',
  },
  {
    ops: ['netDevice'],
    errno: 'EINVAL',
    hint: 'the device cannot change namespaces (NETIF_F_NETNS_LOCAL: lo, bridges, some tunnels) or the name is not valid',
  },
  {
    ops: ['moveMount'],
    errno: 'EINVAL',
    hint: "the prepared mount could not be attached there (the target is not a directory/file of the source's kind, or the mount namespace refused it)",
  },
  { ops: ['mountSetattr'], errno: 'EINVAL', hint: 'the target is not a mount point, or the attributes are not valid together' },
  {
    ops: ['mountSetattr'],
    errno: 'EPERM',
    hint: 'in a user namespace, attributes locked by the mount outside (ro, nosuid, nodev, noexec, atime) cannot be cleared',
  },
  // anything
  {
    errno: 'EOVERFLOW',
    when: (q) => q.userNamespace === true,
    hint: "the process's uid or gid has no mapping in the user namespace (is the runtime's own id in linux.uidMappings/gidMappings?)",
  },
  { errno: 'EPERM', hint: 'a capability is missing (bounding set, user namespace) or seccomp/an LSM refused the call' },
  { errno: 'EACCES', hint: "file permissions or an LSM refused access for the container's user" },
  { errno: 'ENOSPC', hint: 'a kernel limit was reached (cgroup, namespace or key quota), not necessarily disk space' },
  { errno: 'ENOMEM', hint: 'out of memory, or the cgroup memory limit is too low for the setup' },
  { errno: 'EBUSY', hint: 'the resource is in use' },
  { errno: 'ENOSYS', hint: 'this kernel (or the seccomp filter) does not provide the system call' },
];

/** The hint for a failed step, or undefined when the table has nothing specific. */
export function hintFor(q: HintQuery): string | undefined {
  for (const r of RULES) {
    if (r.errno !== q.errno) continue;
    if (r.ops && !r.ops.includes(q.op)) continue;
    if (r.when && !r.when(q)) continue;
    return r.hint;
  }
  return undefined;
}

/** Every (op, errno) pair that has a specific hint: for the docs and a test that keeps them unique. */
export function hintTable(): Array<{ ops: string[] | 'any'; errno: string; conditional: boolean; hint: string }> {
  return RULES.map((r) => ({ ops: r.ops ?? 'any', errno: r.errno, conditional: r.when !== undefined, hint: r.hint }));
}
