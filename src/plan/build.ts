// The planner: an OCI spec becomes the ordered list of steps the container's init carries out.
// Everything here is policy and pure computation (no I/O but reading the bundle's bind sources);
// `runt explain` prints exactly what this returns.
import { statSync, statfsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { Spec } from '../spec/types.js';
import { CLONE, NAMESPACES, JOIN_ORDER, MS, PR, FS_MAGIC, RLIMITS, S_IF, capNumber } from './constants.js';
import { parseMountOptions, BIND_REMOUNT_FLAGS } from './mount-options.js';
import { mountOfPath } from './mountinfo.js';
import type { Step, SpawnConfig, MountStep } from './steps.js';
import { SYNC_TAG } from './steps.js';
import { PlanError } from '../errors.js';
import { SECCOMP_FILTER_FLAG, checkNotifyRules, seccompFilterFlags } from '../security/seccomp.js';
import { checkSysctlNamespaces, sysctlPath } from '../security/sysctl.js';
import { destinationProblem, normalizeDestination } from '../spec/mount-destination.js';
import { resolveInRoot } from './resolve-in-root.js';
import { imageOverlayStep } from './image-rootfs.js';
import { checkIntelRdt } from './intel-rdt.js';
import { idmapRequest } from './idmap.js';
import { netDeviceSteps } from './net-devices.js';
import { affinityStep, memoryPolicyStep, personalityStep, schedulingSteps } from './process-attrs.js';
import type { CgroupBirthFds } from '../cgroups/birth.js';
import type { CgroupMountSource } from '../cgroups/manager.js';
import { hierarchyLabel } from '../cgroups/paths.js';

export type { CgroupMountSource };

export interface PlanContext {
  bundle: string;
  rootfs: string;
  /** Fd of the exec fifo the init parks on (-1 when only explaining). */
  execFifoFd: number;
  /** Namespace type → fd of the namespace file given by `path` (-1 when only explaining). */
  nsFds: Record<string, number>;
  noPivot: boolean;
  preserveFds: number;
  trace: boolean;
  cgroupMounts: CgroupMountSource[];
  /** BPF program from linux.seccomp, compiled by the caller (undefined: no seccomp). */
  seccompFilter?: Uint8Array;
  seccompFlags?: number;
  /** Highest capability number the kernel knows (/proc/sys/kernel/cap_last_cap). */
  lastCap: number;
  stdio?: [number, number, number];
  /** The init joins its cgroups itself at birth with these fds (src/cgroups/birth.ts decides), so
   *  the runtime need not move it. Without anything else for the runtime to do then (id maps,
   *  oom_score_adj, the state for createContainer hooks), the plan has no INIT sync: one round trip less. */
  birth?: CgroupBirthFds;
  /** Rootless with only the caller's gid mapped: setgroups(2) is denied in the namespace (rootless.ts). */
  setgroupsDenied?: boolean;
  /** runt runs as a user other than root: it writes the id maps as that user (rootless.ts). */
  rootless?: boolean;
  /** runt itself runs in a user namespace (rootless podman): no mknod, and inherited mounts are locked. */
  inUserNamespace?: boolean;
  /** Container id; with `newKeyring` (default true) the init joins a fresh session keyring `_ses.<id>`. */
  id?: string;
  newKeyring?: boolean;
  /** Mounts runt adds after the spec's (volumes, tmpfs, the network's /etc files), each with the
   *  request it serves as its field. */
  extraMounts?: Array<{ mount: SpecMount; field: string; copyUp?: boolean; sourceKind?: 'dir' | 'file' }>;
  /** `mounts[i]` → fd of the idmapped detached mount the runtime prepared (src/plan/idmap.ts). */
  idmapFds?: Record<string, number>;
  /** A NETLINK_ROUTE socket in the runtime's network namespace, for linux.netDevices (-1 when explaining). */
  netlinkFd?: number;
  /** The container joins CNI networks: a sync point once its network namespace exists, where the
   *  runtime runs the plugins (ADD) before any mount is made. `why` lists the calls. */
  networkSync?: { field: string; why: string };
}

export interface Plan extends SpawnConfig {
  /** Namespaces the init creates, by OCI type. */
  newNamespaces: string[];
  /** Whether a user namespace is created (the runtime writes the id maps at SYNC_TAG.INIT). */
  newUserNamespace: boolean;
}

const DEFAULT_DEVICES = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
];

const DEV_SYMLINKS: Array<[string, string]> = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
  ['pts/ptmx', '/dev/ptmx'],
];

export function buildPlan(spec: Spec, ctx: PlanContext): Plan {
  const steps: Step[] = [];
  const linux = spec.linux ?? {};
  const namespaces = linux.namespaces ?? [];
  const fieldOf = (type: string) => `linux.namespaces[${namespaces.findIndex((n) => n.type === type)}]`;
  const has = (type: string) => namespaces.some((n) => n.type === type);
  const newNs = namespaces.filter((n) => !n.path).map((n) => n.type);
  const joined = namespaces.filter((n) => n.path);
  const newUser = newNs.includes('user');
  const userNs = newUser || (ctx.inUserNamespace ?? false);

  checkIntelRdt(spec);
  // Time offsets can only be written before the first process enters the namespace, and clone3 puts
  // the init in at once: with offsets, unshare (which makes the namespace for children), let the
  // runtime write them, then fork.
  const timeOffsets = newNs.includes('time') && Object.keys(linux.timeOffsets ?? {}).length > 0;

  // Until it execs, the init is runt-init (its /proc/PID/exe a sealed copy of the runtime's helper):
  // nothing that shares its namespaces may ptrace it or open its /proc files (CVE-2019-5736).
  // Forked processes inherit this; execve of the container's binary makes it dumpable again.
  // Rootless, the runtime writes the id maps as the caller: /proc/PID/uid_map of a non-dumpable
  // process belongs to root, so the init stays dumpable until the maps are in (as runc's nsexec
  // does). Until then it runs as the caller in namespaces nothing else has entered.
  const nonDumpable: Step = {
    op: 'prctl',
    option: PR.SET_DUMPABLE,
    arg2: 0,
    field: 'runtime',
    why: 'non-dumpable until exec: no ptrace or /proc/PID/exe access from the container',
  };
  const dumpableUntilMaps = newUser && (ctx.rootless ?? false);
  if (!dumpableUntilMaps) steps.push(nonDumpable);

  // 1. Namespaces. With nothing to join, clone3 creates them all at once (the fast path); the cgroup
  //    namespace always waits until the runtime has placed the process in its cgroups. A new user
  //    namespace is made by unshare after runt-init has started: exec'd inside a user namespace
  //    that does not map its uid yet, runt-init would lose every capability there.
  let cloneFlags = 0;
  const flagsOf = (types: string[]) => types.reduce((f, t) => f | NAMESPACES[t].flag, 0);
  const laterNew = newNs.filter((t) => t === 'cgroup');
  if (joined.length === 0 && !timeOffsets && !newUser) {
    cloneFlags = flagsOf(newNs.filter((t) => t !== 'cgroup'));
  } else {
    for (const type of JOIN_ORDER) {
      const ns = joined.find((n) => n.type === type);
      if (!ns) continue;
      steps.push({
        op: 'setns',
        fd: ctx.nsFds[type] ?? -1,
        nstype: NAMESPACES[type].flag,
        name: ns.path!,
        field: fieldOf(type),
        why: `join the existing ${type} namespace`,
      });
    }
    const unshareNow = newNs.filter((t) => t !== 'cgroup');
    if (unshareNow.length > 0) {
      steps.push({
        op: 'unshare',
        flags: flagsOf(unshareNow),
        field: 'linux.namespaces',
        why: `create ${unshareNow.join(', ')} namespaces`,
      });
    }
    if (timeOffsets) {
      steps.push({
        op: 'sync',
        tag: SYNC_TAG.TIME_OFFSETS,
        field: 'linux.timeOffsets',
        why: 'runtime writes /proc/PID/timens_offsets before any process is inside (opened beneath a procfs nothing is mounted over)',
      });
    }
    if (has('pid') || timeOffsets) {
      steps.push({
        op: 'fork',
        flags: 0,
        field: has('pid') ? fieldOf('pid') : fieldOf('time'),
        why: 'a PID namespace applies to children only: fork so the init is inside it',
      });
    }
  }

  const runtimeAtInit = newUser || !ctx.birth || spec.process?.oomScoreAdj !== undefined || (spec.hooks?.createContainer?.length ?? 0) > 0;
  if (runtimeAtInit) {
    steps.push({
      op: 'sync',
      tag: SYNC_TAG.INIT,
      slot: 0,
      field: 'linux.cgroupsPath',
      why: 'runtime writes uid/gid maps, places the process in its cgroups, sets oom_score_adj (/proc files opened beneath a procfs nothing is mounted over)',
    });
  }
  if (dumpableUntilMaps) steps.push(nonDumpable);
  if (newUser) {
    // Until now the init runs with the host ids, which the new namespace does not map (files it
    // creates on the namespace's own mounts fail with EOVERFLOW): become its root.
    if (!ctx.setgroupsDenied)
      steps.push({ op: 'setgroups', gids: [], field: 'linux.gidMappings', why: 'drop the host supplementary groups' });
    steps.push({ op: 'setresgid', gid: 0, field: 'linux.gidMappings', why: 'root of the new user namespace' });
    steps.push({ op: 'setresuid', uid: 0, field: 'linux.uidMappings', why: 'root of the new user namespace' });
  }
  if (ctx.networkSync) {
    const net = namespaces.find((n) => n.type === 'network');
    if (!net || net.path)
      throw new PlanError('linux.namespaces', 'networks need a new network namespace (add {"type": "network"} without a path)');
    steps.push({ op: 'sync', tag: SYNC_TAG.NETWORK, field: ctx.networkSync.field, why: ctx.networkSync.why });
  }
  steps.push(...netDeviceSteps(spec, ctx.netlinkFd, newUser));
  if (laterNew.length) {
    steps.push({ op: 'unshare', flags: CLONE.NEWCGROUP, field: fieldOf('cgroup'), why: 'cgroup namespace rooted at the container cgroup' });
  }

  // 2. The root filesystem and the mounts, made in the container's mount namespace before pivot_root.
  //    Without a mount namespace of its own (the spec allows it) the container shares the caller's:
  //    as runc does, the rootfs is still bound onto itself and the config's mounts are made under
  //    it, there, in the caller's namespace (delete detaches them); the caller's own "/" is left as
  //    it is (no propagation change), and the init chroots instead of pivot_root.
  const ownMountNs = has('mount');
  const propagation = linux.rootfsPropagation ? propagationFlag(linux.rootfsPropagation) : undefined;
  if (ownMountNs) {
    // An unbindable "/" would refuse the bind of the rootfs below: unbindable is applied after pivot_root.
    const before = propagation === undefined || propagation & MS.UNBINDABLE ? MS.SLAVE | MS.REC : propagation;
    steps.push({
      op: 'mount',
      source: null,
      target: '/',
      fstype: null,
      flags: before,
      data: null,
      targetInRoot: false,
      mkdir: 'none',
      field: 'linux.rootfsPropagation',
      why:
        propagation === undefined || before !== propagation
          ? 'stop mount events propagating back to the host'
          : 'the propagation asked for, on every mount the namespace starts with',
    });
    // pivot_root refuses a new root whose parent mount is shared, and a bind onto a shared mount
    // would propagate to the host: that one mount becomes private first, as runc does.
    const parent = mountOfPath(ctx.rootfs);
    const makePrivate: string[] = [];
    if (before & MS.SHARED) {
      // pivot_root also refuses a shared current root ("/" is its own parent).
      makePrivate.push(parent?.mountPoint ?? '/');
      if (parent && parent.mountPoint !== '/') makePrivate.push('/');
    } else if (parent?.shared && !(before & MS.REC) && parent.mountPoint !== '/') {
      makePrivate.push(parent.mountPoint);
    }
    for (const target of makePrivate) {
      steps.push({
        op: 'mount',
        source: null,
        target,
        fstype: null,
        flags: MS.PRIVATE,
        data: null,
        targetInRoot: false,
        mkdir: 'none',
        field: 'linux.rootfsPropagation',
        why: 'pivot_root refuses a shared parent of the new root (or a shared current root), and a bind onto a shared mount would reach the host: private first, as runc does',
      });
    }
  }
  const overlay = imageOverlayStep(spec, ctx.rootfs, newNs.includes('mount'));
  steps.push(
    overlay ?? {
      op: 'mount',
      source: ctx.rootfs,
      target: ctx.rootfs,
      fstype: null,
      flags: MS.BIND | MS.REC,
      data: null,
      targetInRoot: false,
      mkdir: 'none',
      field: 'root.path',
      why: ownMountNs
        ? 'pivot_root needs the rootfs to be a mount point'
        : "no mount namespace: bound in the caller's namespace, so that delete can detach it with all the mounts under it",
    },
  );
  steps.push({ op: 'openRoot', path: ctx.rootfs, field: 'root.path', why: 'every later path is resolved inside this directory' });

  // A relative destination (deprecated) is relative to "/" (config.md); the validator warned.
  const mounts = (spec.mounts ?? []).map((m) => (m.destination.startsWith('/') ? m : { ...m, destination: `/${m.destination}` }));
  const mctx: MountContext = { ...ctx, linux };
  mounts.forEach((m, i) => steps.push(...planMount(m, `mounts[${i}]`, mctx, userNs, newNs.includes('cgroup'))));
  for (const x of ctx.extraMounts ?? [])
    steps.push(...planMount(x.mount, x.field, mctx, userNs, newNs.includes('cgroup'), x.copyUp, x.sourceKind));
  steps.push(...planDevices(spec, userNs));

  const hooks = spec.hooks ?? {};
  if ((hooks.prestart?.length ?? 0) + (hooks.createRuntime?.length ?? 0) > 0) {
    steps.push({
      op: 'sync',
      tag: SYNC_TAG.CREATE_RUNTIME,
      field: 'hooks.createRuntime',
      why: 'runtime runs prestart and createRuntime hooks',
    });
  }
  (hooks.createContainer ?? []).forEach((h, i) =>
    steps.push({
      op: 'hook',
      path: h.path,
      args: h.args ?? [h.path],
      env: h.env ?? [],
      timeoutMs: (h.timeout ?? 0) * 1000,
      stdinSlot: 0,
      field: `hooks.createContainer[${i}]`,
      why: 'runs in the container namespaces before pivot_root',
    }),
  );

  if (spec.process?.cwd && spec.process.cwd !== '/') {
    steps.push({
      op: 'mkdir',
      path: spec.process.cwd,
      mode: 0o755,
      field: 'process.cwd',
      why: 'a missing working directory is created, as runc does',
    });
  }
  if (!ownMountNs) {
    steps.push({
      op: 'chroot',
      field: 'linux.namespaces',
      why: 'no mount namespace: pivot_root would change the root of every process sharing it, so chroot into the rootfs',
    });
  } else {
    steps.push(
      ctx.noPivot
        ? { op: 'moveRoot', field: 'root.path', why: '--no-pivot: move the rootfs over / and chroot' }
        : { op: 'pivotRoot', field: 'root.path', why: 'make the rootfs / and detach the old root' },
    );
  }

  // 3. After pivot_root: paths are now the container's own. Sysctls first: readonlyPaths usually
  //    include /proc/sys.
  checkSysctlNamespaces(spec);
  for (const [key, value] of Object.entries(linux.sysctl ?? {})) {
    steps.push({ op: 'writeProc', path: sysctlPath(key), data: String(value), field: `linux.sysctl["${key}"]` });
  }
  // Masks under /proc must land on the procfs mounted at /proc, not on whatever a racing process
  // put in its place (CVE-2019-19921): the target itself is checked before it is covered.
  const procMounted = mounts.some((m) => m.type === 'proc' && m.destination.replace(/\/+$/, '') === '/proc');
  const expectFsOf = (path: string) => (procMounted && /^\/proc\/./.test(path) ? { expectFs: FS_MAGIC.PROC } : {});
  (linux.maskedPaths ?? []).forEach((p, i) => steps.push({ op: 'mask', path: p, ...expectFsOf(p), field: `linux.maskedPaths[${i}]` }));
  (linux.readonlyPaths ?? []).forEach((p, i) => {
    const field = `linux.readonlyPaths[${i}]`;
    steps.push({
      op: 'mount',
      source: p,
      sourceInRoot: true,
      target: p,
      targetInRoot: true,
      fstype: null,
      flags: MS.BIND | MS.REC,
      data: null,
      mkdir: 'none',
      optional: true,
      ...expectFsOf(p),
      field,
    });
    steps.push({
      op: 'mount',
      source: null,
      target: p,
      targetInRoot: true,
      fstype: null,
      flags: MS.BIND | MS.REMOUNT | MS.RDONLY | MS.REC,
      data: null,
      mkdir: 'none',
      optional: true,
      keepFlags: true,
      field,
    });
  });
  // The propagation asked for, on the container's /: after pivot_root (which needs the parent
  // private) and after the masks and read-only paths (binds, which an unbindable tree refuses).
  if (ownMountNs && propagation !== undefined) {
    steps.push({
      op: 'mount',
      source: null,
      target: '/',
      fstype: null,
      flags: propagation,
      data: null,
      targetInRoot: false,
      mkdir: 'none',
      field: 'linux.rootfsPropagation',
      why: "the propagation of the container's /, once its binds are made",
    });
  }
  if (spec.hostname !== undefined && spec.hostname !== '') steps.push({ op: 'sethostname', name: spec.hostname, field: 'hostname' });
  if (spec.domainname !== undefined && spec.domainname !== '')
    steps.push({ op: 'setdomainname', name: spec.domainname, field: 'domainname' });
  if (spec.root?.readonly) {
    steps.push({
      op: 'mount',
      source: null,
      target: '/',
      targetInRoot: true,
      fstype: null,
      flags: MS.BIND | MS.REMOUNT | MS.RDONLY,
      data: null,
      mkdir: 'none',
      keepFlags: true,
      field: 'root.readonly',
    });
  }

  // 4. The process: terminal, limits, identity, capabilities, then park until `start`, then exec.
  if (ctx.newKeyring !== false) {
    steps.push({
      op: 'joinKeyring',
      name: `_ses.${ctx.id ?? 'runt'}`,
      field: 'runtime (--no-new-keyring)',
      why: 'keep the host session keyring out of the container',
    });
  }
  if (linux.seccomp) checkNotifyRules(linux.seccomp);
  steps.push(...personalityStep(spec), ...memoryPolicyStep(spec));
  steps.push(...planProcess(spec, { ...ctx, seccompFlags: ctx.seccompFlags ?? seccompFilterFlags(linux.seccomp) }));

  return {
    cloneFlags,
    stdio: ctx.stdio ?? [-1, -1, -1],
    preserveFds: ctx.preserveFds,
    trace: ctx.trace,
    pdeathSig: 0,
    steps,
    newNamespaces: newNs,
    newUserNamespace: newUser,
    ...(ctx.birth && { cgroupFd: ctx.birth.cgroupFd, cgroupTaskFds: ctx.birth.cgroupTaskFds }),
  };
}

/** Whether the init makes a new user namespace (then the runtime writes its id maps). */
export function createsUserNamespace(spec: Spec): boolean {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === 'user' && !n.path);
}

function propagationFlag(name: string): number {
  const table: Record<string, number> = {
    private: MS.PRIVATE,
    rprivate: MS.PRIVATE | MS.REC,
    slave: MS.SLAVE,
    rslave: MS.SLAVE | MS.REC,
    shared: MS.SHARED,
    rshared: MS.SHARED | MS.REC,
    unbindable: MS.UNBINDABLE,
    runbindable: MS.UNBINDABLE | MS.REC,
  };
  const f = table[name];
  if (f === undefined) throw new PlanError('linux.rootfsPropagation', `unknown propagation "${name}"`);
  return f;
}

type SpecMount = NonNullable<Spec['mounts']>[number];

/** `copyUp` (a volume's first mount, never from a config): the bind mount, if its directory is
 *  empty, is filled with a copy of what it covers, as tmpcopyup fills a tmpfs. */
/** The container's id maps, for idmapped mounts without maps of their own. */
type MountContext = PlanContext & { linux: Spec['linux'] };

function planMount(
  m: SpecMount,
  field: string,
  ctx: MountContext,
  newUser: boolean,
  newCgroupNs: boolean,
  copyUp = false,
  sourceKind?: 'dir' | 'file',
): Step[] {
  const opts = parseMountOptions(m.options ?? []);
  const type = m.type ?? (opts.flags & MS.BIND ? 'bind' : undefined);
  const isBind = type === 'bind' || (opts.flags & MS.BIND) !== 0;
  const steps: Step[] = [];
  const base = { targetInRoot: true, field } as const;
  checkResolvedDestination(m, field, ctx, type, isBind);

  if (type === 'cgroup' || type === 'cgroup2') return planCgroupMount(m, field, opts.flags, ctx, newCgroupNs);

  if (isBind) {
    const source = bindSource(m, ctx);
    let isDir: boolean;
    try {
      isDir = sourceKind ? sourceKind === 'dir' : statSync(source).isDirectory();
    } catch {
      throw new PlanError(`${field}.source`, `bind source "${source}" does not exist`);
    }
    const bindFlags = MS.BIND | (opts.flags & MS.REC);
    const idmap = idmapRequest({ linux: ctx.linux }, m, field);
    if (idmap) {
      steps.push({
        op: 'moveMount',
        fd: ctx.idmapFds?.[field] ?? -1,
        target: m.destination,
        mkdir: isDir ? 'dir' : 'file',
        ...base,
        why: `attach the ${idmap.idmapRecursive ? 'recursively ' : ''}idmapped clone of ${source} the runtime made (open_tree + mount_setattr MOUNT_ATTR_IDMAP)`,
      });
    } else
      steps.push({
        op: 'mount',
        source,
        target: m.destination,
        fstype: null,
        flags: bindFlags,
        data: null,
        mkdir: isDir ? 'dir' : 'file',
        ...base,
        ...(copyUp && isDir
          ? { copyUp: true, why: 'bind mount; the volume, if empty, gets a copy of the directory it covers' }
          : { why: 'bind mount' }),
      });
    const remount = opts.flags & BIND_REMOUNT_FLAGS;
    if (remount) {
      steps.push({
        op: 'mount',
        source: null,
        target: m.destination,
        fstype: null,
        flags: MS.BIND | MS.REMOUNT | remount | (opts.flags & MS.REC),
        data: null,
        mkdir: 'none',
        keepFlags: newUser,
        ...base,
        why: 'bind flags only apply through a remount',
      });
    }
  } else {
    if (!type) throw new PlanError(`${field}.type`, 'a mount that is not a bind needs a type');
    idmapRequest({ linux: ctx.linux }, m, field);
    const flags = opts.flags & ~(MS.BIND | MS.REC);
    // tmpcopyup (runc, crun, podman): the tmpfs starts with a copy of the directory it covers. The
    // copy needs it writable; a read-only one is made read-only by a remount after (as runc does).
    const copyUp = type === 'tmpfs' && opts.tmpcopyup && !(flags & MS.REMOUNT);
    const step: MountStep = {
      op: 'mount',
      source: m.source ?? type,
      target: m.destination,
      fstype: type,
      flags: copyUp ? flags & ~MS.RDONLY : flags,
      data: opts.data || null,
      mkdir: 'dir',
      ...base,
    };
    if (type === 'proc') step.expectFs = FS_MAGIC.PROC;
    if (type === 'sysfs') step.expectFs = FS_MAGIC.SYSFS;
    if (copyUp) step.copyUp = true;
    steps.push(step);
    if (copyUp && flags & MS.RDONLY) {
      steps.push({
        op: 'mount',
        source: null,
        target: m.destination,
        fstype: null,
        flags: MS.REMOUNT | flags,
        data: opts.data || null,
        mkdir: 'none',
        ...base,
        why: 'read-only once the copy is in place (tmpcopyup)',
      });
    }
  }
  for (const p of opts.propagation) {
    steps.push({
      op: 'mount',
      source: null,
      target: m.destination,
      fstype: null,
      flags: p,
      data: null,
      mkdir: 'none',
      ...base,
      why: 'mount propagation',
    });
  }
  if (opts.recursive) {
    steps.push({
      op: 'mountSetattr',
      target: m.destination,
      attrSet: opts.recursive.set,
      attrClr: opts.recursive.clr,
      propagation: 0,
      recursive: true,
      ...base,
      why: 'recursive options (r*) apply to every mount below too',
    });
  }
  return steps;
}

function bindSource(m: SpecMount, ctx: PlanContext): string {
  return isAbsolute(m.source ?? '') ? m.source! : resolve(ctx.bundle, m.source ?? '');
}

/** The destination as the image's symlinks make it (see src/spec/mount-destination.ts): not the
 *  root, and nothing but a procfs on or inside /proc. */
function checkResolvedDestination(m: SpecMount, field: string, ctx: PlanContext, type: string | undefined, isBind: boolean): void {
  const resolved = resolveInRoot(ctx.rootfs, m.destination);
  if (resolved === undefined)
    throw new PlanError(`${field}.destination`, `${m.destination}: too many levels of symbolic links in the rootfs`);
  const via = resolved === normalizeDestination(m.destination) ? '' : ` (${m.destination} resolves to ${resolved} in the rootfs)`;
  const problem = destinationProblem(resolved, type, isBind);
  if (problem) throw new PlanError(`${field}.destination`, `${problem}${via}`);
  if (resolved === '/proc' && isBind) {
    let fsType: number | undefined;
    try {
      fsType = Number(statfsSync(bindSource(m, ctx)).type);
    } catch {
      fsType = undefined; // a missing source is reported as such below
    }
    if (fsType !== undefined && fsType !== FS_MAGIC.PROC)
      throw new PlanError(`${field}.source`, `a bind on /proc must come from a procfs${via}`);
  }
}

function planCgroupMount(m: SpecMount, field: string, flags: number, ctx: PlanContext, newCgroupNs: boolean): Step[] {
  const steps: Step[] = [];
  const mflags = flags & ~(MS.BIND | MS.REC);
  const pure = ctx.cgroupMounts.length === 1 && ctx.cgroupMounts[0].fstype === 'cgroup2';
  const mountOne = (c: CgroupMountSource, target: string, f: number) => {
    if (newCgroupNs) {
      steps.push({
        op: 'mount',
        source: c.fstype,
        target,
        fstype: c.fstype,
        flags: f,
        data: c.fstype === 'cgroup' ? c.data : null,
        mkdir: 'dir',
        targetInRoot: true,
        field,
        why: `cgroup hierarchy ${hierarchyLabel(c.name)} (cgroup namespace)`,
      });
    } else {
      steps.push({
        op: 'mount',
        source: c.hostDir,
        target,
        fstype: null,
        flags: MS.BIND,
        data: null,
        mkdir: 'dir',
        targetInRoot: true,
        field,
        why: `the container's own cgroup in ${hierarchyLabel(c.name)}`,
      });
      if (f & BIND_REMOUNT_FLAGS)
        steps.push({
          op: 'mount',
          source: null,
          target,
          fstype: null,
          flags: MS.BIND | MS.REMOUNT | (f & BIND_REMOUNT_FLAGS),
          data: null,
          mkdir: 'none',
          targetInRoot: true,
          field,
        });
    }
  };
  if (pure) {
    mountOne(ctx.cgroupMounts[0], m.destination, mflags);
    return steps;
  }
  steps.push({
    op: 'mount',
    source: 'tmpfs',
    target: m.destination,
    fstype: 'tmpfs',
    flags: mflags & ~MS.RDONLY,
    data: 'mode=755',
    mkdir: 'dir',
    targetInRoot: true,
    field,
    why: 'a tmpfs holding one directory per v1 hierarchy',
  });
  for (const c of ctx.cgroupMounts) mountOne(c, join(m.destination, c.name), mflags);
  if (mflags & MS.RDONLY) {
    steps.push({
      op: 'mount',
      source: null,
      target: m.destination,
      fstype: null,
      flags: MS.REMOUNT | mflags,
      data: 'mode=755',
      mkdir: 'none',
      targetInRoot: true,
      field,
      why: 'read-only once the hierarchies are in place',
    });
  }
  return steps;
}

function planDevices(spec: Spec, newUser: boolean): Step[] {
  const steps: Step[] = [];
  const devices = (spec.linux?.devices ?? []).map((d, i) => ({ ...d, field: `linux.devices[${i}]` }));
  const listed = new Set(devices.map((d) => d.path));
  const all = [
    ...DEFAULT_DEVICES.filter((d) => !listed.has(d.path)).map((d) => ({
      ...d,
      type: 'c',
      fileMode: 0o666,
      uid: 0,
      gid: 0,
      field: 'linux.devices (default)',
    })),
    ...devices,
  ];
  for (const d of all) {
    if (newUser) {
      // mknod is not allowed in a user namespace: bind the host's node instead.
      steps.push({
        op: 'mount',
        source: d.path,
        target: d.path,
        fstype: null,
        flags: MS.BIND,
        data: null,
        targetInRoot: true,
        mkdir: 'file',
        field: d.field,
        why: 'bind the host device (no mknod in a user namespace)',
      });
      continue;
    }
    const kind = d.type === 'b' ? S_IF.BLK : d.type === 'p' ? S_IF.FIFO : S_IF.CHR;
    steps.push({
      op: 'mknod',
      path: d.path,
      mode: kind | ((d.fileMode ?? 0o666) & 0o7777),
      major: d.major ?? 0,
      minor: d.minor ?? 0,
      uid: d.uid ?? 0,
      gid: d.gid ?? 0,
      field: d.field,
    });
  }
  for (const [target, path] of DEV_SYMLINKS) steps.push({ op: 'symlink', target, path, field: 'linux (default /dev links)' });
  return steps;
}

const CAP_SYS_ADMIN = capNumber('CAP_SYS_ADMIN');

function capList(names: string[] | undefined): number[] {
  return (names ?? []).map(capNumber).filter((n) => n >= 0);
}

/** What the process steps need besides the process. Without `execFifoFd` the process execs at once
 *  (a process joining a running container) instead of parking until `start`. */
export type ProcessPlanContext = Pick<PlanContext, 'lastCap' | 'preserveFds' | 'seccompFilter' | 'seccompFlags' | 'setgroupsDenied'> & {
  execFifoFd?: number;
};

/** The process's own steps: terminal or setsid, rlimits, seccomp, capabilities, identity, cwd, exec. */
export function planProcess(spec: Pick<Spec, 'process' | 'hooks'>, ctx: ProcessPlanContext): Step[] {
  const p = spec.process;
  if (!p) throw new PlanError('process', 'is required to create a container');
  const steps: Step[] = [];
  const caps = p.capabilities ?? {};
  const env = p.env ?? [];
  const searchPath = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

  if (p.terminal) {
    const console = ctx.execFifoFd !== undefined;
    steps.push({
      op: 'terminal',
      rows: p.consoleSize?.height ?? 0,
      cols: p.consoleSize?.width ?? 0,
      ...(console ? { console } : {}),
      field: 'process.terminal',
      why: `pty from the container devpts; master goes to the console socket${console ? '; the pty is bound on /dev/console' : ''}`,
    });
  } else {
    steps.push({ op: 'setsid', field: 'process', why: 'the init leads its own session' });
  }
  (p.rlimits ?? []).forEach((r, i) =>
    steps.push({
      op: 'setrlimit',
      resource: RLIMITS[r.type],
      soft: limitValue(r.soft),
      hard: limitValue(r.hard),
      field: `process.rlimits[${i}]`,
    }),
  );
  steps.push(...schedulingSteps(p));

  // Seccomp constrains the container's process, not runt-init: the filter is loaded as late as it
  // can be, so that every step of the runtime (identity, cwd, executable lookup, parking, the
  // startContainer hooks, the fd work) happens before it and the filter meets nothing but the final
  // execve. Two things can pull it earlier:
  //  - a notify listener must reach the runtime before the init parks (the runtime is gone after);
  //  - without no_new_privs, loading a filter needs CAP_SYS_ADMIN. When the process keeps that in its
  //    effective set, nothing changes; otherwise the capset keeps CAP_SYS_ADMIN until the filter is in
  //    and a last capset (which the profile must allow, as with runc) drops it just before execve.
  const filter = ctx.seccompFilter;
  const seccompFlags = ctx.seccompFlags ?? 0;
  const listenerEarly = filter !== undefined && (seccompFlags & SECCOMP_FILTER_FLAG.NEW_LISTENER) !== 0 && ctx.execFifoFd !== undefined;
  const effective = capList(caps.effective);
  const permitted = capList(caps.permitted);
  const inheritable = capList(caps.inheritable);
  const keepAdmin = filter !== undefined && !p.noNewPrivileges && !effective.includes(CAP_SYS_ADMIN);
  const seccompStep = (why: string): Step => ({ op: 'seccomp', filter: filter!, flags: seccompFlags, field: 'linux.seccomp', why });

  steps.push({ op: 'capBounding', keep: capList(caps.bounding), lastCap: ctx.lastCap, field: 'process.capabilities.bounding' });
  steps.push({ op: 'prctl', option: PR.SET_KEEPCAPS, arg2: 1, field: 'process.user', why: 'keep permitted capabilities across setresuid' });
  if (!ctx.setgroupsDenied) steps.push({ op: 'setgroups', gids: p.user.additionalGids ?? [], field: 'process.user.additionalGids' });
  else if (p.user.additionalGids?.length) {
    throw new PlanError(
      'process.user.additionalGids',
      'a rootless container that maps only your own gid cannot set groups (map a range from /etc/subgid)',
    );
  }
  steps.push({ op: 'setresgid', gid: p.user.gid, field: 'process.user.gid' });
  steps.push({ op: 'setresuid', uid: p.user.uid, field: 'process.user.uid' });
  steps.push({ op: 'prctl', option: PR.SET_KEEPCAPS, arg2: 0, field: 'process.user' });
  const withAdmin = (list: number[]) => (list.includes(CAP_SYS_ADMIN) ? list : [...list, CAP_SYS_ADMIN]);
  steps.push(
    keepAdmin
      ? {
          op: 'capset',
          effective: withAdmin(effective),
          permitted: withAdmin(permitted),
          inheritable,
          field: 'process.capabilities',
          why: 'the configured sets plus CAP_SYS_ADMIN: without noNewPrivileges the seccomp filter needs it to load',
        }
      : { op: 'capset', effective, permitted, inheritable, field: 'process.capabilities' },
  );
  // The kernel raises an ambient capability only when it is permitted and inheritable; runc ignores
  // the EPERM for the others, so they are left out here (configs from `runc spec` list such caps).
  const raisable = new Set(inheritable.filter((c) => permitted.includes(c)));
  steps.push({ op: 'ambient', caps: capList(caps.ambient).filter((c) => raisable.has(c)), field: 'process.capabilities.ambient' });
  if (p.user.umask !== undefined) steps.push({ op: 'umask', mask: p.user.umask, field: 'process.user.umask' });
  steps.push({ op: 'chdir', path: p.cwd, field: 'process.cwd' });
  if (p.noNewPrivileges) steps.push({ op: 'prctl', option: PR.SET_NO_NEW_PRIVS, arg2: 1, field: 'process.noNewPrivileges' });
  steps.push({
    op: 'resolveExec',
    name: p.args![0],
    searchPath,
    field: 'process.args[0]',
    why: 'a missing executable fails create, not start',
  });
  if (listenerEarly) steps.push(seccompStep('the notify listener must reach the runtime before the init parks'));
  const startHooks = spec.hooks?.startContainer ?? [];
  if (ctx.execFifoFd !== undefined && startHooks.length) {
    steps.push({
      op: 'sync',
      tag: SYNC_TAG.START_STATE,
      slot: 1,
      field: 'hooks.startContainer',
      why: 'the state (status created) the hooks read on stdin',
    });
  }
  if (ctx.execFifoFd !== undefined)
    steps.push({ op: 'park', fd: ctx.execFifoFd, field: 'runtime (create/start)', why: 'wait on the exec fifo until `start`' });
  startHooks.forEach((h, i) =>
    steps.push({
      op: 'hook',
      path: h.path,
      args: h.args ?? [h.path],
      env: h.env ?? [],
      timeoutMs: (h.timeout ?? 0) * 1000,
      stdinSlot: 1,
      field: `hooks.startContainer[${i}]`,
    }),
  );
  if (ctx.execFifoFd === undefined) steps.push(...affinityStep(p, 'final'));
  steps.push({
    op: 'prepareFds',
    preserveFds: ctx.preserveFds,
    field: 'runtime (exec)',
    why: 'fds of the runtime close on exec, preserved fds stay open: before the filter, which then meets only execve',
  });
  if (filter !== undefined && !listenerEarly)
    steps.push(seccompStep('the last step before exec: the filter constrains only the container process'));
  if (keepAdmin) {
    steps.push({
      op: 'capset',
      effective,
      permitted,
      inheritable,
      field: 'process.capabilities',
      why: 'drop the CAP_SYS_ADMIN kept for loading the filter (the profile must allow capset, as with runc)',
    });
  }
  steps.push({ op: 'exec', name: p.args![0], args: p.args!, env, searchPath, preserveFds: ctx.preserveFds, field: 'process.args' });
  return steps;
}

/** rlimit values beyond 2^53 (RLIM_INFINITY is 2^64-1) become -1, which the addon reads as infinity. */
function limitValue(v: number): number {
  return v >= Number.MAX_SAFE_INTEGER ? -1 : v;
}
