// `exec`: start another process in a running container.
//
//   runtime                                      new process (clone3 child)
//   lock, check status, open /proc/<init>/ns/*
//   compile the container's seccomp, plan,
//   open the cgroup dirs / tasks files
//   spawn (CLONE_INTO_CGROUP) ──────────────▶   writes "0" to each v1 tasks file (cgroups/birth.ts),
//                                                PR_SET_DUMPABLE 0, setns user…mount,
//                               ◀── MSG_PID      fork (PID namespace): the intermediate exits
//                               ◀── MSG_SYNC INIT (only for oom_score_adj, or when the cgroups
//   oom_score_adj [cgroup.procs]; ACK ───────▶    could not be opened for a join at birth)
//                                                terminal or setsid, rlimits, caps, user, cwd,
//                               ◀── MSG_FD       (pty master when process.terminal)
//                               ◀── EOF          seccomp, execve (the socket is close-on-exec)
//
// A MSG_ERROR names the failing step; the process is killed and reaped, nothing else changes.
import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import type { Process } from '../spec/types.js';
import { validateProcess } from '../spec/validate.js';
import { INT } from '../spec/check.js';
import { buildExecPlan, type ExecPlan } from '../plan/exec-plan.js';
import { NAMESPACES } from '../plan/constants.js';
import { SYNC_TAG } from '../plan/steps.js';
import { native } from '../native.js';
import { sharesMountNamespace } from './shared-mounts.js';
import { sendPidfd } from './pidfd-socket.js';
import { subCgroupPaths } from '../cgroups/sub-cgroups.js';
import { checkLsmFields } from '../security/lsm.js';
import { idMapMethod } from '../rootless.js';
import { openBirthCgroups, openCgroupManager } from '../cgroups/index.js';
import { lastCap } from '../plan/last-cap.js';
import { InvalidArgumentError, InvalidStateError } from '../errors.js';
import { isAlive } from '../state/process.js';
import type { SavedState } from '../state/store.js';
import type { RuntimeContext } from './context.js';
import { ProtocolError, type HandshakeSide, type TraceEvent } from './handshake.js';
import { reap, SpawnedProcess, stepFailure, writeOomScoreAdj, writePidFile } from './spawn.js';
import { ociState, statusOf } from './status.js';
import { compileSeccompFilter, seccompFilterFlags } from '../security/seccomp.js';
import { parseSignal, signalName } from './signals.js';

export interface ExecOptions {
  pidFile?: string;
  /** Unix socket that receives the pty master when process.terminal is true. */
  consoleSocket?: string;
  /** `--pidfd-socket` (runc 1.2+): a unix socket that receives a pidfd of the new process. */
  pidfdSocket?: string;
  /** `--cgroup`: the process joins this sub-cgroup of the container's (`path` for every hierarchy, or
   *  `controller[,controller]:path` per cgroup v1 hierarchy, as runc takes it). */
  cgroup?: string[];
  /** Fds 3 .. 3+N-1 are passed to the process. */
  preserveFds?: number;
  /** Allow exec into a paused container (the process starts frozen). */
  ignorePaused?: boolean;
  /** Parent fds that become the process's stdin, stdout, stderr (-1: inherit runt's). */
  stdio?: [number, number, number];
  /** Receives the pty master when process.terminal is true and no console socket is given. */
  onTerminal?: (masterFd: number) => void;
  trace?: boolean;
  onTrace?: (event: TraceEvent) => void;
}

export interface ExecedProcess {
  /** Host pid of the new process. */
  pid: number;
  /** pidfd of the process (this process is its parent). */
  pidfd: number;
}

export async function execInContainer(ctx: RuntimeContext, id: string, process: Process, opts: ExecOptions = {}): Promise<ExecedProcess> {
  if (process.terminal && !opts.consoleSocket && !opts.onTerminal) {
    throw new InvalidArgumentError(
      'process.terminal is true: give --console-socket (runt itself is the terminal only of a foreground run or exec)',
    );
  }
  const n = native();
  const lock = await ctx.store.lockAsync(id);
  const nsFds: Record<string, number> = {};
  let child: SpawnedProcess | undefined;
  try {
    const saved = ctx.store.read(id);
    const status = statusOf(ctx.store, saved);
    if (!saved || status === 'creating') throw new InvalidStateError(`cannot exec in container "${id}": it is still being created`);
    if (status === 'stopped') throw new InvalidStateError(`cannot exec in a stopped container "${id}"`);
    if (status === 'paused' && !opts.ignorePaused) {
      throw new InvalidStateError(`cannot exec in a paused container "${id}" (use --ignore-paused to override)`);
    }
    const given = validateProcess(process);
    const proc = withContainerDefaults(given, saved.spec.process);
    const oomScoreAdjField =
      given.oomScoreAdj !== undefined ? 'process.oomScoreAdj' : "process.oomScoreAdj (the container's config.json, which exec inherits)";
    checkLsmFields(proc);

    openNamespaces(saved.pid, nsFds);
    // The fds must belong to our init, not to a process that took over its pid since.
    if (!isAlive(saved.pid, saved.pidStartTime)) throw new InvalidStateError(`cannot exec in a stopped container "${id}"`);
    // The namespace fds hold what the process joins; the lock must not outlive this point, or a
    // `resume` of a paused container would wait for an exec that waits for the resume.
    lock.release();

    const seccomp = saved.spec.linux?.seccomp;
    // Born in the container's cgroups: no move from outside, which waits on the kernel's global lock.
    const cgroupPaths = opts.cgroup?.length ? subCgroupPaths(saved.cgroupPaths, opts.cgroup) : saved.cgroupPaths;
    const birth = openBirthCgroups(cgroupPaths, { newUserNamespace: false });
    const plan = buildExecPlan(proc, {
      nsFds,
      lastCap: lastCap(),
      preserveFds: opts.preserveFds ?? 0,
      trace: opts.trace ?? false,
      stdio: opts.stdio,
      seccompFilter: seccomp ? compileSeccompFilter(seccomp) : undefined,
      seccompFlags: seccompFilterFlags(seccomp),
      birth: birth ?? undefined,
      containerLinux: saved.spec.linux,
      setgroupsDenied: idMapMethod(saved.spec.linux).setgroupsDenied,
      rootOf: sharesMountNamespace(saved.spec) ? `/proc/${saved.pid}/root` : undefined,
    });
    const spawned = (child = await SpawnedProcess.spawn(plan, birth));
    await spawned.handshake(
      execSide({ ...saved, cgroupPaths }, proc, plan, opts, { pid: () => spawned.pid, joinedAtBirth: birth !== null, oomScoreAdjField }),
    );
    n.close(spawned.releaseSocket());
    if (opts.pidfdSocket) sendPidfd(opts.pidfdSocket, spawned.pidfd);
    if (opts.pidFile) writePidFile(opts.pidFile, spawned.pid);
    return { pid: spawned.pid, pidfd: spawned.pidfd };
  } catch (e) {
    await child?.killAndReap();
    throw e;
  } finally {
    for (const fd of Object.values(nsFds)) closeSync(fd);
    lock.release();
  }
}

/** What the process JSON leaves out comes from the container's own process, as with runc. */
export function withContainerDefaults(p: Process, container: Process | undefined): Process {
  return {
    ...p,
    capabilities: p.capabilities ?? container?.capabilities,
    rlimits: p.rlimits?.length ? p.rlimits : container?.rlimits,
    noNewPrivileges: p.noNewPrivileges ?? container?.noNewPrivileges,
    apparmorProfile: p.apparmorProfile || container?.apparmorProfile,
    selinuxLabel: p.selinuxLabel || container?.selinuxLabel,
    oomScoreAdj: p.oomScoreAdj ?? container?.oomScoreAdj,
    execCPUAffinity: p.execCPUAffinity ?? container?.execCPUAffinity,
  };
}

/** The process `runt exec ARGS…` runs: the container's process with the command line's changes. */
export interface ExecArgs {
  args: string[];
  env?: string[];
  cwd?: string;
  /** uid or uid:gid */
  user?: string;
  additionalGids?: number[];
  /** Capabilities added to the bounding, effective, permitted and ambient sets. */
  caps?: string[];
  tty?: boolean;
  noNewPrivs?: boolean;
  apparmor?: string;
  processLabel?: string;
}

export function processFromArgs(container: Process | undefined, a: ExecArgs): Process {
  if (!a.args.length) throw new InvalidArgumentError('exec needs a command (or --process FILE)');
  const base: Process = container ?? { user: { uid: 0, gid: 0 }, args: [], cwd: '/' };
  const user = { ...base.user };
  if (a.user !== undefined) {
    const m = /^(\d+)(?::(\d+))?$/.exec(a.user);
    if (!m) throw new InvalidArgumentError(`--user "${a.user}": expected uid or uid:gid`);
    user.uid = Number(m[1]);
    user.gid = m[2] !== undefined ? Number(m[2]) : user.gid;
    // (uid_t)-1 means "unchanged" to setresuid: 4294967295 would keep the process root.
    for (const [what, id] of [
      ['uid', user.uid],
      ['gid', user.gid],
    ] as const) {
      if (id > INT.id.max) throw new InvalidArgumentError(`--user "${a.user}": ${what} ${id} is outside 0..${INT.id.max}`);
    }
  }
  if (a.additionalGids?.length) user.additionalGids = a.additionalGids;
  const p: Process = {
    ...base,
    args: a.args,
    env: [...(base.env ?? []), ...(a.env ?? [])],
    cwd: a.cwd ?? base.cwd,
    user,
    terminal: a.tty ?? false,
  };
  if (a.caps?.length) {
    const caps = a.caps.map((c) => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`));
    const add = (set: string[] | undefined) => [...new Set([...(set ?? []), ...caps])];
    const c = base.capabilities ?? {};
    p.capabilities = { ...c, bounding: add(c.bounding), effective: add(c.effective), permitted: add(c.permitted), ambient: add(c.ambient) };
  }
  if (a.noNewPrivs) p.noNewPrivileges = true;
  if (a.apparmor) p.apparmorProfile = a.apparmor;
  if (a.processLabel) p.selinuxLabel = a.processLabel;
  delete p.consoleSize;
  return p;
}

/** Opens /proc/<pid>/ns/<type> for every namespace the init does not share with the runtime. */
function openNamespaces(initPid: number, out: Record<string, number>): void {
  for (const [type, { proc }] of Object.entries(NAMESPACES)) {
    let fd: number;
    try {
      fd = openSync(`/proc/${initPid}/ns/${proc}`, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && type !== 'mount') continue; // a namespace type this kernel lacks
      throw new InvalidStateError(`cannot open the ${type} namespace of pid ${initPid}: ${code}`);
    }
    const theirs = fstatSync(fd);
    let ours;
    try {
      ours = statSync(`/proc/self/ns/${proc}`);
    } catch {
      ours = undefined;
    }
    if (ours && ours.ino === theirs.ino && ours.dev === theirs.dev) {
      closeSync(fd);
      continue;
    }
    out[type] = fd;
  }
}

/** exec's side of the handshake (handshake.ts). */
function execSide(
  saved: SavedState,
  proc: Process,
  plan: ExecPlan,
  opts: ExecOptions,
  h: {
    pid(): number;
    /** The process was born in the container's cgroups. */
    joinedAtBirth: boolean;
    /** Where process.oomScoreAdj came from, for an error: the process JSON or the container's config. */
    oomScoreAdjField: string;
  },
): Omit<HandshakeSide, 'onPid' | 'pid'> {
  const seccomp = saved.spec.linux?.seccomp;
  return {
    peer: 'exec process',
    steps: plan.steps,
    onTrace: opts.onTrace,
    consoleSocket: opts.consoleSocket,
    onTerminal: opts.onTerminal,
    stepFailed: (msg) => stepFailure(plan.steps, plan.joined.includes('user'), msg, opts.onTrace),
    sync(tag) {
      if (tag !== SYNC_TAG.INIT) throw new ProtocolError(`unexpected sync tag ${tag} from the exec process`);
      if (!h.joinedAtBirth) openCgroupManager(saved.cgroupPaths).join(h.pid());
      if (proc.oomScoreAdj !== undefined) writeOomScoreAdj(h.pid(), proc.oomScoreAdj, h.oomScoreAdjField);
      return undefined;
    },
    // As for the init: the agent gets the new process's listener, with the container's state.
    seccompAgent: seccomp?.listenerPath
      ? { listenerPath: seccomp.listenerPath, metadata: seccomp.listenerMetadata, state: () => ociState(saved, 'running') }
      : undefined,
    parks: false,
    eof: () => undefined,
  };
}

/** A process started by exec, as the library hands it out. This process is its parent. */
export class ExecHandle {
  private exit?: Promise<{ code: number | null; signal: string | null }>;
  private reaped = false;

  /** `onReaped` runs once the process has been reaped (the Runtime stops tracking it then). */
  constructor(
    readonly pid: number,
    private readonly pidfd: number,
    private readonly onReaped?: () => void,
  ) {}

  /** Resolves when the process exits: its code, or the name of the signal that killed it. */
  wait(): Promise<{ code: number | null; signal: string | null }> {
    this.exit ??= reap(this.pidfd).then((st) => {
      this.reaped = true;
      this.onReaped?.();
      return { code: st.code, signal: st.signal === null ? null : signalName(st.signal) };
    });
    return this.exit;
  }

  kill(signal: string | number = 'SIGTERM'): void {
    if (this.reaped) return; // the pidfd is closed and the pid may be someone else's
    try {
      native().pidfdSendSignal(this.pidfd, parseSignal(signal));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
}
