// `create`: from a bundle to a parked init. The parent/child handshake (see docs/ARCHITECTURE.md):
//
//   runtime                                   init (clone3 child, runs the plan's steps)
//   claim id, write creating.json, cgroups
//   mkfifo exec.fifo, compile seccomp, plan
//   spawn ─────────────────────────────────▶  [setns…, unshare, fork → MSG_PID + pidfd]
//                             ◀── MSG_SYNC INIT
//   id maps, cgroup.procs, oom_score_adj
//   ACK (state JSON for in-container hooks) ─▶  mounts, devices
//                             ◀── MSG_SYNC CREATE_RUNTIME (only with hooks)
//   prestart + createRuntime hooks, ACK ────▶  createContainer hooks, pivot_root, …, user, caps
//                             ◀── MSG_FD SECCOMP_LISTENER (only with SCMP_ACT_NOTIFY rules)
//   listener fd + state → linux.seccomp.listenerPath
//                             ◀── MSG_PARKED   blocks on exec.fifo
//   write state.json (created, pid), pid file; exit
//
// Any MSG_ERROR (step, errno, text) or an early EOF ends in cleanup: the init is killed, cgroups and
// the state directory removed.
import { closeSync, constants as fsc, openSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { constants as osc } from 'node:os';
import type { Spec, State } from '../spec/types.js';
import { loadBundleSpec, rootfsPath } from '../spec/load.js';
import { validateSpec } from '../spec/validate.js';
import { createsUserNamespace, type Plan } from '../plan/build.js';
import { planContainer, type PlanInputs } from '../plan/container.js';
import { idmapRequest } from '../plan/idmap.js';
import { MSG, SYNC_TAG } from '../plan/steps.js';
import { native } from '../native.js';
import { HOOK_STATUS } from './hook-status.js';
import { sendPidfd } from './pidfd-socket.js';
import { hostNotifySocket, prepareNotify } from './notify-socket.js';
import { detachRootfsBind, sharesMountNamespace, topMountId } from './shared-mounts.js';
import { checkLsmFields } from '../security/lsm.js';
import { writeProcFile } from '../security/procfs.js';
import { createCgroupManager, validateResources, withDefaultDeviceRules } from '../cgroups/index.js';
import type { CgroupManager } from '../cgroups/manager.js';
import { runHooks } from './hooks-on-demand.js';
import { writeIdMaps } from './id-maps.js';
import { RuntError } from '../errors.js';
import { readProcStat } from '../state/process.js';
import type { SavedState } from '../state/store.js';
import type { RuntimeContext } from './context.js';
import { errnoName, ProtocolError, type HandshakeSide, type TraceEvent } from './handshake.js';
import { failedStepEvent, SpawnedProcess, stepFailure, writeOomScoreAdj, writePidFile } from './spawn.js';
import type { VolumeRequests } from '../volume/attach.js';
import type { NetworkRequests } from '../network/attach.js';
import { storeRoot } from '../store-root.js';

export { errnoName, type TraceEvent };

export interface CreateOptions {
  /** Bundle directory (default: cwd). Ignored for the rootfs when `spec` is given with an absolute root.path. */
  bundle?: string;
  /** An already parsed spec instead of <bundle>/config.json. */
  spec?: Spec;
  pidFile?: string;
  consoleSocket?: string;
  /** `--pidfd-socket` (runc 1.2+): a unix socket that receives a pidfd of the container's init. */
  pidfdSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** Report each step as it runs (time in microseconds). */
  trace?: boolean;
  onTrace?: (event: TraceEvent) => void;
  /** With trace: go on reporting after the init parks (startContainer hooks, seccomp, exec) until it
   *  execs. For a caller that starts the container from this process (run): until then the open
   *  socket keeps the event loop alive. */
  traceAfterStart?: boolean;
  /** When this process also starts the container (run): a step that fails after start
   *  (startContainer hook, seccomp, exec) is reported here as one line naming its field. */
  onLateError?: (message: string) => void;
  /** Parent fds that become the container's stdin, stdout, stderr (-1: inherit runt's). */
  stdio?: [number, number, number];
  /** Receives the pty master when process.terminal is true and no console socket is given. */
  onTerminal?: (masterFd: number) => void;
  /** `-v`: named volumes (NAME:/path[:ro]), host directories (/dir:/path[:ro]), anonymous (/path). */
  volumes?: VolumeRequests['volumes'];
  /** `--tmpfs /path[:options]`. */
  tmpfs?: VolumeRequests['tmpfs'];
  /** CNI networks to join (the default network `runt` when only ports or ip are given). */
  networks?: string[];
  /** `-p HOSTPORT:PORT[/tcp|udp]`. */
  ports?: NetworkRequests['ports'];
  /** A fixed address on the first network. */
  ip?: string;
  /** Directories holding the CNI plugins (default /usr/lib/cni, /opt/cni/bin; or $RUNT_CNI_PATH). */
  cniPath?: string[];
  /** How long one plugin call may take (default 30 s; or $RUNT_CNI_TIMEOUT_MS). */
  cniTimeoutMs?: number;
}

export interface CreatedInit {
  pid: number;
  /** pidfd of the init; the init is this process's child (clone3, or CLONE_PARENT after a fork step). */
  pidfd: number;
  saved: SavedState;
  /** With trace after start: settles once the init's last step was reported. */
  traceDone?: Promise<void>;
}

export async function createContainer(ctx: RuntimeContext, id: string, opts: CreateOptions = {}): Promise<CreatedInit> {
  const bundle = resolve(opts.bundle ?? '.');
  const onWarning = (w: { message: string }) => ctx.log.warn(w.message);
  const spec = opts.spec ? validateSpec(opts.spec, { onWarning }) : loadBundleSpec(bundle, { onWarning });
  const rootfs = rootfsPath(bundle, spec);
  if (spec.process?.terminal && !opts.consoleSocket && !opts.onTerminal) {
    throw new RuntError(
      'EINVALID_ARGUMENT',
      'process.terminal is true: give --console-socket (runt itself is the terminal only of a foreground run or exec)',
    );
  }
  if (spec.linux?.resources) validateResources(spec.linux.resources);
  checkLsmFields(spec.process, spec.linux);
  const n = native();
  const lock = ctx.store.claim(id);
  const saved: SavedState = {
    ociVersion: spec.ociVersion,
    id,
    pid: 0,
    pidStartTime: 0,
    bundle,
    rootfs,
    created: new Date().toISOString(),
    annotations: spec.annotations ?? {},
    creating: true,
    creator: { pid: process.pid, startTime: readProcStat(process.pid)?.startTime ?? 0 },
    cgroupPaths: {},
    spec,
  };
  const openFds: number[] = [];
  const user = { root: resolve(ctx.store.root), id };
  const storeDir = ctx.storeDir ?? storeRoot();
  const wantsVolumes = (opts.volumes?.length ?? 0) + (opts.tmpfs?.length ?? 0) > 0;
  const netMod = opts.networks?.length || opts.ports?.length || opts.ip ? await import('../network/attach.js') : undefined;
  let networksPrepared = false;
  let cgroup: CgroupManager | undefined;
  let child: SpawnedProcess | undefined;
  let mountIdBefore: number | undefined;
  try {
    const extraMounts: NonNullable<PlanInputs['extraMounts']> = [];
    if (wantsVolumes || netMod) saved.store = storeDir;
    if (wantsVolumes) {
      const { prepareVolumes } = await import('../volume/attach.js');
      const vols = prepareVolumes(storeDir, user, { volumes: opts.volumes, tmpfs: opts.tmpfs });
      saved.volumes = vols.held;
      extraMounts.push(...vols.mounts);
    }
    cgroup = createCgroupManager({
      cgroupsPath: spec.linux?.cgroupsPath,
      id,
      systemd: ctx.cgroupDriver === 'systemd',
      annotations: spec.annotations,
    });
    saved.cgroupPaths = cgroup.paths;
    // Before anything exists outside the state directory: what delete --force needs after a crash.
    // The init's pid is not recorded until it parks; it is born in (or joins) the cgroup, which is
    // where delete finds and kills it.
    ctx.store.writeCreating(saved);
    let networkSync: PlanInputs['networkSync'];
    if (netMod) {
      const nets = netMod.prepareNetworks(storeDir, user, ctx.store.dir(id), spec, opts);
      networksPrepared = true;
      extraMounts.push(...nets.mounts);
      networkSync = { field: `networks (${nets.record.attachments.map((a) => a.network).join(', ')})`, why: nets.why };
    }
    const notifyHost = hostNotifySocket();
    if (notifyHost && spec.process) {
      const notify = prepareNotify(ctx.store.dir(id));
      extraMounts.push({ mount: notify.mount, field: 'NOTIFY_SOCKET (runtime environment)' });
      spec.process.env = [...(spec.process.env ?? []).filter((e) => !e.startsWith('NOTIFY_SOCKET=')), notify.env];
      saved.notifySocket = notifyHost;
    }
    cgroup.create();
    cgroup.apply(withDefaultDeviceRules(spec.linux?.resources, spec.linux?.devices), (m) => ctx.log.warn(m));

    const fifo = ctx.store.fifoPath(id);
    n.mkfifo(fifo, 0o600);
    const fifoFd = openSync(fifo, fsc.O_RDWR);
    openFds.push(fifoFd);
    const nsFds: Record<string, number> = {};
    for (const ns of spec.linux?.namespaces ?? []) {
      if (!ns.path) continue;
      try {
        nsFds[ns.type] = openSync(ns.path, 'r');
      } catch (e) {
        throw new RuntError(
          'EINVALID_SPEC',
          `linux.namespaces: cannot open ${ns.type} namespace "${ns.path}": ${(e as NodeJS.ErrnoException).code}`,
        );
      }
      openFds.push(nsFds[ns.type]);
    }
    if (sharesMountNamespace(spec)) mountIdBefore = topMountId(rootfs);
    // Whether the init joins its cgroups itself is the cgroup manager's call (cgroups/birth.ts).
    const birth = cgroup.openBirth({ newUserNamespace: createsUserNamespace(spec) });
    let plan: Plan;
    try {
      plan = planContainer(spec, {
        bundle,
        rootfs,
        id,
        execFifoFd: fifoFd,
        nsFds,
        cgroupMounts: cgroup.mountSources(),
        noPivot: opts.noPivot,
        noNewKeyring: opts.noNewKeyring,
        preserveFds: opts.preserveFds,
        trace: opts.trace,
        stdio: opts.stdio,
        birth: birth ?? undefined,
        extraMounts,
        networkSync,
        idmapFds: openIdmappedMounts(spec, bundle, openFds),
        netlinkFd: openNetlink(spec, openFds),
      });
    } catch (e) {
      birth?.close();
      throw e;
    }
    const init = (child = await SpawnedProcess.spawn(plan, birth));
    const initPid = () => init.pid;

    await init.handshake(
      createSide(spec, plan, id, opts, {
        cgroup,
        joinedAtBirth: plan.cgroupTaskFds !== undefined,
        initPid,
        addNetworks:
          netMod &&
          (async (step: number) => {
            const record = await netMod.addNetworks(
              storeDir,
              ctx.store.dir(id),
              id,
              initPid(),
              opts.onTrace &&
                ((e) =>
                  opts.onTrace!({
                    index: step,
                    op: `cni ${e.command}`,
                    field: `network ${e.network}: ${e.plugin}`,
                    usec: e.usec,
                    error: e.error ? 'failed' : undefined,
                    message: e.error,
                  })),
            );
            saved.networks = record.attachments.map((a) => ({ network: a.network, ifname: a.ifname, addresses: a.addresses, mac: a.mac }));
          }),
      }),
    );
    saved.pid = init.pid;
    saved.pidStartTime = readProcStat(init.pid)?.startTime ?? 0;
    if (opts.pidfdSocket) sendPidfd(opts.pidfdSocket, init.pidfd);
    saved.creating = false;
    delete saved.creator;
    if (mountIdBefore !== undefined) {
      const bind = topMountId(rootfs);
      if (bind !== mountIdBefore) saved.rootfsMountId = bind;
    }
    ctx.store.write(saved);
    if (opts.pidFile) writePidFile(opts.pidFile, init.pid);
    let traceDone: Promise<void> | undefined;
    const traceLate = opts.trace && opts.traceAfterStart && opts.onTrace;
    if (traceLate || opts.onLateError)
      traceDone = followTrace(init.releaseSocket(), plan, traceLate ? opts.onTrace! : () => {}, opts.onLateError);
    else n.close(init.releaseSocket());
    return { pid: init.pid, pidfd: init.pidfd, saved, traceDone };
  } catch (e) {
    // DEL while the init (and so its network namespace) still exists: its veth goes at once.
    if (netMod && networksPrepared) {
      const failures = await netMod
        .detachNetworks(storeDir, user, ctx.store.dir(id), [child?.pid ?? 0])
        .catch((err: Error) => [err.message]);
      for (const f of failures) ctx.log.warn(`cleanup: ${f}`);
    }
    await child?.killAndReap();
    try {
      cgroup?.destroy();
    } catch (err) {
      ctx.log.warn(`cleanup: ${(err as Error).message}`);
    }
    if (saved.volumes?.length) (await import('../volume/attach.js')).releaseVolumes(storeDir, user, saved.volumes);
    if (mountIdBefore !== undefined) {
      const bind = topMountId(rootfs);
      const failed = bind !== mountIdBefore ? detachRootfsBind(rootfs, bind) : undefined;
      if (failed) ctx.log.warn(`cleanup: ${failed}`);
    }
    ctx.store.remove(id);
    throw e;
  } finally {
    for (const fd of openFds) closeSync(fd);
    lock.release();
  }
}

/** create's side of the handshake (handshake.ts). */
function createSide(
  spec: Spec,
  plan: Plan,
  id: string,
  opts: CreateOptions,
  h: {
    cgroup: CgroupManager;
    /** The init joined its cgroups itself. */
    joinedAtBirth: boolean;
    initPid(): number;
    /** The NETWORK sync: CNI ADD for every network (step: the sync's index, for the trace). */
    addNetworks?: (step: number) => Promise<void>;
  },
): Omit<HandshakeSide, 'onPid' | 'pid'> {
  const state = (status: State['status']): State => ({
    ociVersion: spec.ociVersion,
    id,
    status,
    pid: h.initPid(),
    bundle: resolve(opts.bundle ?? '.'),
    annotations: spec.annotations ?? {},
  });
  const seccomp = spec.linux?.seccomp;
  return {
    peer: 'container init',
    steps: plan.steps,
    onTrace: opts.onTrace,
    consoleSocket: opts.consoleSocket,
    onTerminal: opts.onTerminal,
    stepFailed: (msg) => stepFailure(plan.steps, plan.newUserNamespace, msg, opts.onTrace),
    async sync(tag, step) {
      if (tag === SYNC_TAG.INIT) {
        setupFromOutside(spec, h.initPid(), h.joinedAtBirth ? null : h.cgroup, plan.newUserNamespace);
        // The state createContainer hooks read (hooks-state.ts says why `created`).
        return JSON.stringify({ ...state(HOOK_STATUS.createContainer), pid: pidInside(h.initPid()) });
      }
      if (tag === SYNC_TAG.TIME_OFFSETS) {
        writeTimeOffsets(h.initPid(), spec.linux?.timeOffsets ?? {});
        return undefined;
      }
      if (tag === SYNC_TAG.NETWORK && h.addNetworks) {
        await h.addNetworks(step);
        return undefined;
      }
      if (tag === SYNC_TAG.START_STATE) return JSON.stringify({ ...state(HOOK_STATUS.startContainer), pid: pidInside(h.initPid()) });
      if (tag === SYNC_TAG.CREATE_RUNTIME) {
        await runHooks(spec.hooks, 'prestart', state(HOOK_STATUS.prestart));
        await runHooks(spec.hooks, 'createRuntime', state(HOOK_STATUS.createRuntime));
        return undefined;
      }
      throw new ProtocolError(`unknown sync tag ${tag}`);
    },
    syncFailed(step, e) {
      opts.onTrace?.(failedStepEvent(plan.steps, plan.newUserNamespace, step, errnoCode(e), (e as Error).message));
    },
    seccompAgent: seccomp?.listenerPath
      ? { listenerPath: seccomp.listenerPath, metadata: seccomp.listenerMetadata, state: () => state('creating') }
      : undefined,
    parks: true,
    eof: () => new RuntError('EINIT_DIED', 'container init exited before it was ready'),
  };
}

/** Milliseconds on a monotonic clock; the global `performance` would load perf_hooks. */
const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** The errno name behind a runtime-side failure (fs calls, cgroup writes), or "". */
function errnoCode(e: unknown): string {
  const err = e as { code?: unknown; errnoCode?: unknown };
  if (typeof err?.errnoCode === 'string') return err.errnoCode;
  return typeof err?.code === 'string' && err.code in osc.errno ? err.code : '';
}

/** After the init parked: report the steps it carries out once started, and the exec, which shows
 *  as end-of-file on the socket (it is close-on-exec). Once the seccomp filter is loaded runt-init
 *  sends nothing more (the filter meets only execve): the steps between it and the exec (the seccomp
 *  step itself, a last capset) are reported at the exec, with the time since the last report given
 *  to the exec. Closes the socket; never throws. */
async function followTrace(sock: number, plan: Plan, onTrace: (e: TraceEvent) => void, onError?: (message: string) => void): Promise<void> {
  const n = native();
  const exec = plan.steps.findIndex((s) => s.op === 'exec');
  let lastReport = nowMs();
  let lastIndex = plan.steps.findIndex((s) => s.op === 'park');
  let failed = false;
  try {
    for (;;) {
      const msg = n.recv(sock);
      if (!msg) {
        await n.whenReadable(sock);
        continue;
      }
      if (msg.type === 0) break;
      if (msg.type === MSG.TRACE) {
        const step = plan.steps[msg.step];
        onTrace({ index: msg.step, op: step.op, field: step.field, usec: Number(msg.usec) });
        lastReport = nowMs();
        lastIndex = msg.step;
      } else if (msg.type === MSG.ERROR) {
        failed = true;
        const event = failedStepEvent(plan.steps, plan.newUserNamespace, msg.step, errnoName(msg.errno), msg.text);
        onTrace(event);
        onError?.(`${event.field}: ${msg.text || event.op}${event.error && event.error !== 'failed' ? `: ${event.error}` : ''}`);
      } else if (msg.fd >= 0) {
        n.close(msg.fd);
      }
    }
    if (!failed && exec >= 0) {
      for (let i = lastIndex + 1; i < exec; i++) onTrace({ index: i, op: plan.steps[i].op, field: plan.steps[i].field, usec: 0 });
      onTrace({ index: exec, op: 'exec', field: plan.steps[exec].field, usec: Math.round((nowMs() - lastReport) * 1000) });
    }
  } catch {
    // Tracing must never take the runtime down.
  } finally {
    n.close(sock);
  }
}

/** linux.timeOffsets → /proc/PID/timens_offsets ("monotonic SECS NSECS" per clock). */
function writeTimeOffsets(pid: number, offsets: Record<string, { secs?: number; nanosecs?: number }>): void {
  const lines = Object.entries(offsets).map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}`);
  writeProcFile(`${pid}/timens_offsets`, lines.join('\n'));
}

/** The init's pid as processes in its own PID namespace see it (hooks run inside get this one). */
function pidInside(pid: number): number {
  try {
    const m = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    const ids = m ? m[1].trim().split(/\s+/) : [];
    return ids.length ? Number(ids[ids.length - 1]) : pid;
  } catch {
    return pid;
  }
}

/** What only the runtime can do for the init: id maps, cgroup membership, oom_score_adj. */
function setupFromOutside(spec: Spec, pid: number, cgroup: CgroupManager | null, newUser: boolean): void {
  const linux = spec.linux ?? {};
  if (newUser) writeIdMaps(pid, linux);
  cgroup?.join(pid);
  if (spec.process?.oomScoreAdj !== undefined) writeOomScoreAdj(pid, spec.process.oomScoreAdj);
}

/** With linux.netDevices: a netlink socket in this (the runtime's) network namespace for runt-init. */
function openNetlink(spec: Spec, openFds: number[]): number | undefined {
  if (Object.keys(spec.linux?.netDevices ?? {}).length === 0) return undefined;
  const fd = native().netlinkSocket();
  openFds.push(fd);
  return fd;
}

/** The idmapped bind mounts, prepared here (see src/plan/idmap.ts); their fds go into `openFds`. */
function openIdmappedMounts(spec: Spec, bundle: string, openFds: number[]): Record<string, number> {
  const fds: Record<string, number> = {};
  (spec.mounts ?? []).forEach((m, i) => {
    const req = idmapRequest(spec, m, `mounts[${i}]`);
    if (!req) return;
    const source = isAbsolute(m.source ?? '') ? m.source! : resolve(bundle, m.source ?? '');
    try {
      fds[req.field] = native().idmappedTree(source, req.uidMap, req.gidMap, req.cloneRecursive, req.idmapRecursive);
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { syscall?: string };
      throw new RuntError(
        'EINVALID_SPEC',
        `${req.field}: idmapped mount of "${source}": ${err.syscall ?? 'failed'}: ${err.code ?? err.message}`,
      );
    }
    openFds.push(fds[req.field]);
  });
  return fds;
}
