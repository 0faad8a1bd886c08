// One plan step → what a reader needs: the system calls it makes with their arguments spelled out,
// and the same arguments as named JSON values. `{root}` stands for the root fd (see openRoot): the
// rootfs before pivot_root, the container's "/" after it.
import type { Step } from '../plan/steps.js';
import { MS } from '../plan/constants.js';
import type { SeccompSummary } from './seccomp.js';
import {
  capName,
  capNames,
  cloneFlagNames,
  cstr,
  fsMagicName,
  joinFlags,
  mountFlagNames,
  namespaceTypeOfFlag,
  nodeType,
  nodeTypeFlag,
  octal,
  prctlName,
  rlimitName,
  rlimitValue,
  syncTagName,
} from './names.js';
import { IOPRIO_CLASS, MPOL_FLAG, MPOL_MODE, PERSONALITY_DOMAIN, SCHED_FLAG, SCHED_POLICY } from '../plan/process-attrs.js';
import { MOUNT_ATTR } from '../plan/mount-options.js';

export interface StepDescription {
  /** The system calls, in the order the addon makes them, C-like. */
  calls: string[];
  /** The step's arguments with names instead of numbers (fds and the BPF bytes left out). */
  args: Record<string, unknown>;
}

export interface DescribeContext {
  /** linux.seccomp summarised (for the seccomp step). */
  seccomp?: SeccompSummary;
  /** The exec fifo the park step reads. */
  execFifo: string;
}

type Described<S> = (s: S, ctx: DescribeContext) => StepDescription;
// Partial: an op added to the contract later is still explained (generically) until it gets an entry.
type ByOp = { [K in Step['op']]?: Described<Extract<Step, { op: K }>> };

const inRoot = (path: string, isInRoot: boolean | undefined) => (isInRoot ? `{root}${path === '/' ? '' : path}` : path);

const DESCRIBE: ByOp = {
  sync: (s) => ({
    calls: [
      `sendmsg(sync socket, MSG_SYNC ${syncTagName(s.tag)})`,
      `recvmsg(sync socket) → ACK${s.slot !== undefined ? ` (payload kept in slot ${s.slot})` : ''}`,
    ],
    args: { tag: syncTagName(s.tag), payloadSlot: s.slot ?? null },
  }),
  setns: (s) => ({
    calls: [`setns(fd of ${cstr(s.name)}, CLONE_NEW${namespaceFlagSuffix(s.nstype)})`],
    args: { path: s.name, type: namespaceTypeOfFlag(s.nstype) },
  }),
  unshare: (s) => ({ calls: [`unshare(${joinFlags(cloneFlagNames(s.flags))})`], args: { flags: cloneFlagNames(s.flags) } }),
  fork: (s) => ({
    calls: [
      `clone3(CLONE_PARENT|CLONE_PIDFD${s.flags ? `|${joinFlags(cloneFlagNames(s.flags))}` : ''})`,
      'sendmsg(sync socket, MSG_PID + pidfd); the intermediate process exits 0',
    ],
    args: { flags: cloneFlagNames(s.flags) },
  }),
  mount: (s) => {
    const target = inRoot(s.target, s.targetInRoot);
    const source = s.sourceInRoot ? inRoot(s.source ?? '', true) : s.source;
    const flags = joinFlags(mountFlagNames(s.flags));
    const calls: string[] = [];
    if (s.targetInRoot && s.mkdir !== 'none')
      calls.push(`mkdir ${target} as a ${s.mkdir === 'dir' ? 'directory' : 'file'} ${octal(s.mode ?? 0o755)} if missing`);
    calls.push(
      `mount(${cstr(source)}, ${cstr(target)}, ${cstr(s.fstype)}, ${flags}${s.keepFlags ? '|<locked flags of the target>' : ''}, ${cstr(s.data)})`,
    );
    if (s.expectFs !== undefined) calls.push(`statfs(${cstr(target)}).f_type == ${fsMagicName(s.expectFs)} or fail with EXDEV`);
    if (s.copyUp) {
      calls.splice(calls.length - 1, 0, `lower = openat(${target}, ".", O_RDONLY|O_DIRECTORY) (the directory the mount will cover)`);
      calls.push(
        s.flags & MS.BIND
          ? `upper = open ${target} again: another directory than lower, or fail with EXDEV; copy only if it is empty (a volume's first mount)`
          : `upper = open ${target} again: a tmpfs (statfs) on another device, or fail with EXDEV`,
        'copy lower into upper: getdents64, openat/mkdirat/symlinkat/mknodat(fifo) with O_NOFOLLOW, sendfile, fchown, fchmod, futimens (device nodes and sockets skipped)',
      );
    }
    return {
      calls,
      args: {
        source: s.source,
        sourceInRoot: s.sourceInRoot ?? false,
        target: s.target,
        targetInRoot: s.targetInRoot,
        fstype: s.fstype,
        flags: mountFlagNames(s.flags),
        data: s.data,
        mkdir: s.mkdir,
        mode: s.mkdir === 'none' ? null : octal(s.mode ?? 0o755),
        optional: s.optional ?? false,
        keepLockedFlags: s.keepFlags ?? false,
        expectFs: s.expectFs === undefined ? null : fsMagicName(s.expectFs),
        ...(s.copyUp ? { copyUp: true } : {}),
      },
    };
  },
  openRoot: (s) => ({ calls: [`{root} = open(${cstr(s.path)}, O_PATH|O_DIRECTORY)`], args: { path: s.path } }),
  pivotRoot: () => ({
    calls: [
      'fchdir({root})',
      'pivot_root(".", ".")',
      'mount(NULL, ".", NULL, MS_SLAVE|MS_REC, NULL)',
      'umount2(".", MNT_DETACH)',
      'chdir("/")',
      '{root} = open("/", O_PATH|O_DIRECTORY)',
    ],
    args: {},
  }),
  moveRoot: () => ({
    calls: [
      'fchdir({root})',
      'mount(".", "/", NULL, MS_MOVE, NULL)',
      'chroot(".")',
      'chdir("/")',
      '{root} = open("/", O_PATH|O_DIRECTORY)',
    ],
    args: {},
  }),
  chroot: () => ({
    calls: ['fchdir({root})', 'chroot(".")', 'chdir("/")', '{root} = open("/", O_PATH|O_DIRECTORY)'],
    args: {},
  }),
  mask: (s) => ({
    calls: [
      `target = open(${cstr(inRoot(s.path, true))}, O_PATH)${s.expectFs === undefined ? '' : ` (on ${fsMagicName(s.expectFs)}, or fail with EXDEV)`}`,
      'directory: fsopen("tmpfs"), fsmount(MOUNT_ATTR_RDONLY|NOSUID|NODEV|NOEXEC), move_mount onto target',
      'otherwise: null = openat2("/dev/null" in {root}, O_PATH|O_NOFOLLOW, RESOLVE_NO_SYMLINKS); fstat(null): the 1:3 character device, or fail with ENODEV',
      '  open_tree(null, OPEN_TREE_CLONE), mount_setattr(MOUNT_ATTR_RDONLY|NOSUID|NOEXEC), move_mount onto target (read-only before it is attached)',
      'missing: nothing',
    ],
    args: {
      path: s.path,
      expectFs: s.expectFs === undefined ? null : fsMagicName(s.expectFs),
      source: '/dev/null checked to be 1:3, or an empty tmpfs; read-only',
    },
  }),
  mknod: (s) => ({
    calls: [
      `mknodat(${cstr(inRoot(s.path, true))}, ${nodeTypeFlag(nodeType(s.mode))}|${octal(s.mode)}, makedev(${s.major}, ${s.minor}))`,
      'EEXIST: the same node is kept; anything else (a symlink, a file, other numbers) is unlinked and made again; a directory fails',
      `fchownat(${cstr(inRoot(s.path, true))}, ${s.uid}, ${s.gid})`,
      `fchmodat(${cstr(inRoot(s.path, true))}, ${octal(s.mode)})`,
    ],
    args: { path: s.path, type: nodeType(s.mode), mode: octal(s.mode), major: s.major, minor: s.minor, uid: s.uid, gid: s.gid },
  }),
  symlink: (s) => ({ calls: [`symlinkat(${cstr(s.target)}, ${cstr(inRoot(s.path, true))})`], args: { target: s.target, path: s.path } }),
  writeProc: (s) => ({
    calls: [
      '{proc} = a procfs nothing is mounted over, once: fsopen("proc") + fsmount, else open_tree("/proc", OPEN_TREE_CLONE), else "/proc"; its root checked (PROC_SUPER_MAGIC, inode 1)',
      `fd = openat2({proc}, ${cstr(s.path.slice('/proc/'.length))}, O_WRONLY|O_NOFOLLOW, RESOLVE_BENEATH|RESOLVE_NO_XDEV|RESOLVE_NO_SYMLINKS); fstatfs/fstat: on that procfs, or fail with EXDEV`,
      `write(fd, ${cstr(s.data)})`,
    ],
    args: { path: s.path, data: s.data },
  }),
  sethostname: (s) => ({ calls: [`sethostname(${cstr(s.name)}, ${Buffer.byteLength(s.name)})`], args: { name: s.name } }),
  setdomainname: (s) => ({ calls: [`setdomainname(${cstr(s.name)}, ${Buffer.byteLength(s.name)})`], args: { name: s.name } }),
  setrlimit: (s) => ({
    calls: [`prlimit64(0, ${rlimitName(s.resource)}, {soft: ${rlimitValue(s.soft)}, hard: ${rlimitValue(s.hard)}}, NULL)`],
    args: {
      resource: rlimitName(s.resource),
      soft: s.soft === -1 ? 'RLIM_INFINITY' : s.soft,
      hard: s.hard === -1 ? 'RLIM_INFINITY' : s.hard,
    },
  }),
  prctl: (s) => ({ calls: [`prctl(${prctlName(s.option)}, ${s.arg2})`], args: { option: prctlName(s.option), arg2: s.arg2 } }),
  capBounding: (s) => {
    const drop: number[] = [];
    for (let c = 0; c <= s.lastCap; c++) if (!s.keep.includes(c)) drop.push(c);
    return {
      calls: drop.length
        ? [`prctl(PR_CAPBSET_DROP, cap) for ${drop.length} capabilities: ${capNames(drop).join(', ')}`]
        : ['nothing to drop'],
      args: { keep: capNames(s.keep), drop: capNames(drop) },
    };
  },
  capset: (s) => ({
    calls: [
      `capset(_LINUX_CAPABILITY_VERSION_3, effective={${capNames(s.effective).join(', ')}}, permitted={${capNames(s.permitted).join(', ')}}, inheritable={${capNames(s.inheritable).join(', ')}})`,
    ],
    args: { effective: capNames(s.effective), permitted: capNames(s.permitted), inheritable: capNames(s.inheritable) },
  }),
  ambient: (s) => ({
    calls: [
      'prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)',
      ...s.caps.map((c) => `prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, ${capName(c)})`),
    ],
    args: { raise: capNames(s.caps) },
  }),
  setgroups: (s) => ({ calls: [`setgroups(${s.gids.length}, [${s.gids.join(', ')}])`], args: { gids: s.gids } }),
  setresgid: (s) => ({ calls: [`setresgid(${s.gid}, ${s.gid}, ${s.gid})`], args: { gid: s.gid } }),
  setresuid: (s) => ({ calls: [`setresuid(${s.uid}, ${s.uid}, ${s.uid})`], args: { uid: s.uid } }),
  umask: (s) => ({ calls: [`umask(${octal(s.mask)})`], args: { mask: octal(s.mask) } }),
  chdir: (s) => ({ calls: [`chdir(${cstr(s.path)})`], args: { path: s.path } }),
  setsid: () => ({ calls: ['setsid()'], args: {} }),
  terminal: (s) => ({
    calls: [
      'master = open("/dev/ptmx", O_RDWR|O_NOCTTY)',
      'ioctl(master, TIOCSPTLCK, 0)',
      'peer = ioctl(master, TIOCGPTPEER, O_RDWR|O_NOCTTY)',
      ...(s.rows || s.cols ? [`ioctl(master, TIOCSWINSZ, {rows: ${s.rows}, cols: ${s.cols}})`] : []),
      ...(s.console
        ? [
            'dev = openat2({root}, "/dev", O_PATH|O_DIRECTORY, RESOLVE_IN_ROOT)',
            'fstatat(dev, "console", AT_SYMLINK_NOFOLLOW): not a regular file or char device (a symlink) → unlinkat; missing → openat(O_CREAT|O_EXCL|O_NOFOLLOW, 0666)',
            'target = openat(dev, "console", O_PATH|O_NOFOLLOW)',
            'tree = open_tree(peer, "", OPEN_TREE_CLONE|AT_EMPTY_PATH)',
            'move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH)',
          ]
        : []),
      'sendmsg(sync socket, MSG_FD TERMINAL, SCM_RIGHTS master) → the console socket',
      'setsid()',
      'ioctl(peer, TIOCSCTTY, 0)',
      'dup2(peer, 0), dup2(peer, 1), dup2(peer, 2)',
    ],
    args: { rows: s.rows, cols: s.cols, console: s.console ?? false },
  }),
  hook: (s) => ({
    calls: [
      'pipe2() holding the state JSON',
      'clone3(CLONE_PIDFD)',
      `child: dup2(pipe, 0); execve(${cstr(s.path)}, ${JSON.stringify(s.args)}, ${JSON.stringify(s.env)})`,
      `waitid(P_PIDFD)${s.timeoutMs ? `, SIGKILL after ${s.timeoutMs} ms` : ''}; non-zero status fails`,
    ],
    args: { path: s.path, args: s.args, env: s.env, timeoutMs: s.timeoutMs },
  }),
  resolveExec: (s) => ({
    calls: [
      s.name.includes('/')
        ? `openat2({root}, ${cstr(s.name)}, O_PATH, RESOLVE_IN_ROOT)`
        : `for dir in ${cstr(s.searchPath)}: openat2({root}, dir + "/" + ${cstr(s.name)}, O_PATH, RESOLVE_IN_ROOT)`,
      'fstat: a regular file; faccessat2(fd, "", X_OK, AT_EMPTY_PATH|AT_EACCESS)',
    ],
    args: { name: s.name, searchPath: s.searchPath },
  }),
  park: (_s, ctx) => ({
    calls: ['sendmsg(sync socket, MSG_PARKED)', `read(${ctx.execFifo}, 1 byte): blocks until \`runt start\` writes it`],
    args: { fifo: ctx.execFifo },
  }),
  seccomp: (s, ctx) => {
    const n = s.filter.length / 8;
    return {
      calls: [`seccomp(SECCOMP_SET_MODE_FILTER, ${s.flags ? `0x${s.flags.toString(16)}` : '0'}, {len: ${n}, filter: <BPF program>})`],
      args: { loadFlags: s.flags, instructions: n, ...(ctx.seccomp ?? {}) },
    };
  },
  prepareFds: (s) => ({
    calls: [
      `close_range(${3 + s.preserveFds}, ~0U, CLOSE_RANGE_CLOEXEC)`,
      ...(s.preserveFds ? [`fcntl(fd, F_SETFD, 0) for fds 3..${2 + s.preserveFds}`] : []),
      'clear O_NONBLOCK on fds 0-2',
    ],
    args: { preserveFds: s.preserveFds },
  }),
  exec: (s) => ({
    calls: [`execve(<path found by resolveExec for ${cstr(s.name)}>, ${JSON.stringify(s.args)}, <${s.env.length} environment variables>)`],
    args: { name: s.name, args: s.args, env: s.env, preserveFds: s.preserveFds },
  }),
  mkdir: (s) => ({
    calls: [`mkdirat(<root>, ${cstr(s.path)}, 0${s.mode.toString(8)}) (missing parents too, resolved in root)`],
    args: { path: s.path, mode: s.mode },
  }),
  joinKeyring: (s) => ({ calls: [`keyctl(KEYCTL_JOIN_SESSION_KEYRING, ${cstr(s.name)})`], args: { name: s.name } }),
  sched: (s) => {
    const policy = nameOf(SCHED_POLICY, s.policy);
    const flags = bitNames(SCHED_FLAG, s.flags);
    return {
      calls: [
        `sched_setattr(0, {policy: ${policy}, flags: ${joinFlags(flags)}, nice: ${s.nice}, priority: ${s.priority}, runtime: ${s.runtime}, deadline: ${s.deadline}, period: ${s.period}}, 0)`,
      ],
      args: { policy, flags, nice: s.nice, priority: s.priority, runtime: s.runtime, deadline: s.deadline, period: s.period },
    };
  },
  ioprio: (s) => ({
    calls: [`ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(${nameOf(IOPRIO_CLASS, s.class)}, ${s.level}))`],
    args: { class: nameOf(IOPRIO_CLASS, s.class), level: s.level },
  }),
  affinity: (s) => ({ calls: [`sched_setaffinity(0, {${s.cpus.join(',')}})`], args: { cpus: s.cpus } }),
  mempolicy: (s) => {
    const mode = nameOf(MPOL_MODE, s.mode & 0x1fff);
    const flags = bitNames(MPOL_FLAG, s.mode & ~0x1fff);
    return {
      calls: [`set_mempolicy(${[mode, ...flags].join('|')}, {${s.nodes.join(',')}}, maxnode)`],
      args: { mode, flags, nodes: s.nodes },
    };
  },
  personality: (s) => ({
    calls: [`personality(0x${s.persona.toString(16).padStart(4, '0')})`],
    args: { domain: nameOf(PERSONALITY_DOMAIN, s.persona & 0xff) },
  }),
  netDevice: (s) => ({
    calls: [
      `RTM_GETLINK ${cstr(s.name)}, RTM_GETADDR (permanent, global scope) on the runtime's netlink socket`,
      `RTM_NEWLINK {index of ${s.name}, IFLA_NET_NS_PID: getpid(), IFLA_IFNAME: ${cstr(s.newName ?? s.name)}} (move and rename)`,
      "socket(AF_NETLINK, NETLINK_ROUTE) in the container's namespace: RTM_NEWADDR for each address, RTM_NEWLINK IFF_UP",
    ],
    args: { name: s.name, newName: s.newName ?? s.name },
  }),
  moveMount: (s) => ({
    calls: [
      `target = openat2({root}, ${cstr(s.target)}, O_PATH, RESOLVE_IN_ROOT)${s.mkdir !== 'none' ? ` (created as a ${s.mkdir === 'dir' ? 'directory' : 'file'} if missing)` : ''}`,
      'move_mount(<detached idmapped mount from the runtime>, "", target, "", MOVE_MOUNT_F_EMPTY_PATH|MOVE_MOUNT_T_EMPTY_PATH)',
    ],
    args: { target: s.target, mkdir: s.mkdir },
  }),
  mountSetattr: (s) => {
    const set = bitNames(MOUNT_ATTR, s.attrSet);
    const clr = bitNames(MOUNT_ATTR, s.attrClr);
    return {
      calls: [
        `fd = openat2({root}, ${cstr(s.target)}, O_PATH, RESOLVE_IN_ROOT)`,
        `mount_setattr(fd, "", AT_EMPTY_PATH${s.recursive ? '|AT_RECURSIVE' : ''}, {attr_set: ${joinFlags(set)}, attr_clr: ${joinFlags(clr)}})`,
      ],
      args: { target: s.target, set, clear: clr, recursive: s.recursive },
    };
  },
};

function nameOf(table: Record<string, number>, value: number): string {
  return Object.entries(table).find(([, v]) => v === value)?.[0] ?? String(value);
}

/** Names of the bits of `value` (each table entry a single bit or a mask; zero entries never match). */
function bitNames(table: Record<string, number>, value: number): string[] {
  return Object.entries(table)
    .filter(([k, bit]) => bit !== 0 && !k.startsWith('_') && (value & bit) === bit)
    .map(([k]) => (table === (MOUNT_ATTR as Record<string, number>) ? `MOUNT_ATTR_${k}` : k));
}

function namespaceFlagSuffix(flag: number): string {
  return (cloneFlagNames(flag)[0] ?? '').replace(/^CLONE_NEW/, '');
}

/** Fields that are plumbing, not arguments a reader should compare. */
const PLUMBING = new Set(['op', 'field', 'why', 'fd', 'filter']);

export function describeStep(step: Step, ctx: DescribeContext): StepDescription {
  const describe = (DESCRIBE as Record<string, Described<Step> | undefined>)[step.op];
  if (describe) return describe(step, ctx);
  // An op this file does not know yet (added to the contract later): show its raw fields.
  const args = Object.fromEntries(Object.entries(step).filter(([k]) => !PLUMBING.has(k)));
  return {
    calls: [
      `${step.op}(${Object.values(args)
        .map((v) => JSON.stringify(v))
        .join(', ')})`,
    ],
    args,
  };
}

/** The ops that have an entry of their own here (test/step-contract.test.ts wants every op). */
export function explainedOps(): string[] {
  return Object.keys(DESCRIBE);
}
