// containerd's Task service (runtime/v2/task/shim.proto) on runt's library: one Runtime in this
// process creates, starts, execs, signals and deletes the containers; exits come from the inits' and
// execs' pidfds (this process is their parent), OOM kills from the cgroup (Container.events). Events
// go to containerd in the contract's order: TaskCreate, TaskStart before the init's TaskExit,
// TaskExecAdded, TaskExecStarted before the exec's TaskExit, TaskExit before TaskDelete.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Runtime, type Container } from '../runtime.js';
import { RuntError } from '../errors.js';
import type { Process, Resources } from '../spec/types.js';
import type { ExecHandle } from '../lifecycle/exec.js';
import { runtVersion } from '../package-root.js';
import type { ProcessIO, IoPaths } from './process-io.js';
import { mountRootfs, unmountRootfs, type RootfsMount } from './rootfs.js';
import { EventPublisher } from './publisher.js';
import { timestamp, type AnyMessage } from './proto.js';
import { CODE, StatusError } from './ttrpc-status.js';
import { leaveDeleteResponse } from './cleanup.js';

/** containerd.v1.types.Status */
const STATUS = { UNKNOWN: 0, CREATED: 1, RUNNING: 2, STOPPED: 3, PAUSED: 4 } as const;

type Req = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Exit {
  status: number;
  at: number;
}

/** The init or an exec of a task. */
interface Proc {
  execId: string;
  pid: number;
  io: ProcessIO;
  paths: IoPaths;
  exit?: Exit;
  exited: Promise<Exit>;
  setExit: (e: Exit) => void;
  /** Set while Start is publishing TaskStart / TaskExecStarted: the exit event waits for it. */
  starting?: Promise<void>;
  /** Exec only: the process spec until started, then the handle. */
  spec?: Process;
  handle?: ExecHandle;
}

interface Task {
  id: string;
  bundle: string;
  container: Container;
  init: Proc;
  execs: Map<string, Proc>;
  rootfsMounted: boolean;
}

/** process-io.js loads at the first Create (or Exec): bin/runt.cjs writes the long-lived shim's
 *  code cache only from a process that loaded it, so that the cache holds what a Create runs (a
 *  shim whose Create never came would leave one without it, for every later shim to start from). */
let processIo: typeof import('./process-io.js') | undefined;
async function loadProcessIo(): Promise<typeof import('./process-io.js')> {
  return (processIo ??= await import('./process-io.js'));
}

function newProc(execId: string, paths: IoPaths, io: ProcessIO): Proc {
  let setExit!: (e: Exit) => void;
  const exited = new Promise<Exit>((r) => {
    setExit = r;
  });
  const p: Proc = {
    execId,
    pid: 0,
    io,
    paths,
    exited,
    setExit: (e) => {
      p.exit = e;
      setExit(e);
    },
  };
  return p;
}

const exitStatus = (r: { code: number | null; signal: string | null }, signals: Record<string, number>) =>
  r.code ?? 128 + (r.signal ? (signals[r.signal] ?? 0) : 0);

/** A library error as a ttrpc status containerd maps back to its errdefs. */
export function toStatus(e: unknown): StatusError {
  if (e instanceof StatusError) return e;
  if (e instanceof RuntError) {
    const code =
      (
        {
          ENOTFOUND_CONTAINER: CODE.NOT_FOUND,
          EEXIST_CONTAINER: CODE.ALREADY_EXISTS,
          EINVALID_STATE: CODE.FAILED_PRECONDITION,
          EINVALID_ARGUMENT: CODE.INVALID_ARGUMENT,
          EINVALID_SPEC: CODE.INVALID_ARGUMENT,
          EBUSY: CODE.UNAVAILABLE,
        } as Record<string, number>
      )[e.code] ?? CODE.UNKNOWN;
    return new StatusError(code, e.message);
  }
  return new StatusError(CODE.UNKNOWN, (e as Error)?.message ?? String(e));
}

export class TaskService {
  readonly tasks = new Map<string, Task>();
  readonly rt: Runtime;
  /** Called after Shutdown when no task is left. */
  onEmpty: () => void = () => {};

  constructor(
    root: string,
    readonly events: EventPublisher,
    private readonly signals: Record<string, number>,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.rt = new Runtime({ root });
  }

  private task(id: string): Task {
    const t = this.tasks.get(id);
    if (!t) throw new StatusError(CODE.NOT_FOUND, `task "${id}" not found`);
    return t;
  }

  private proc(id: string, execId: string): Proc {
    const t = this.task(id);
    if (!execId) return t.init;
    const p = t.execs.get(execId);
    if (!p) throw new StatusError(CODE.NOT_FOUND, `exec "${execId}" of task "${id}" not found`);
    return p;
  }

  async create(req: Req): Promise<Req> {
    const id = String(req.id);
    if (this.tasks.has(id)) throw new StatusError(CODE.ALREADY_EXISTS, `task "${id}" already exists`);
    const bundle = String(req.bundle);
    if (!existsSync(join(bundle, 'config.json'))) throw new StatusError(CODE.INVALID_ARGUMENT, `bundle ${bundle}: no config.json`);
    if (req.checkpoint)
      throw new StatusError(CODE.UNIMPLEMENTED, 'checkpoint: restoring from a checkpoint needs CRIU, which runt does not have');
    const mounts = (req.rootfs ?? []) as RootfsMount[];
    const paths: IoPaths = { stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '', terminal: !!req.terminal };
    // Reserve the id while the awaits below run: a second Create for it is refused, not raced.
    this.tasks.set(id, undefined as unknown as Task);
    let rootfsMounted = false;
    let io: ProcessIO | undefined;
    try {
      if (mounts.length) {
        mountRootfs(bundle, mounts);
        rootfsMounted = true;
      }
      const { ProcessIO } = await loadProcessIo();
      io = new ProcessIO(paths, { id, namespace: this.events.namespace });
      await io.ready;
      const container = await this.rt.create(id, bundle, {
        stdio: io.stdio,
        ...(paths.terminal ? { onTerminal: io.onTerminal } : {}),
      });
      io.attach(container.stdin);
      const init = newProc('', paths, io);
      init.pid = container.pid;
      const task: Task = { id, bundle, container, init, execs: new Map(), rootfsMounted };
      this.tasks.set(id, task);
      this.events.publish('TaskCreate', {
        container_id: id,
        bundle,
        rootfs: mounts,
        io: { stdin: paths.stdin, stdout: paths.stdout, stderr: paths.stderr, terminal: paths.terminal },
        checkpoint: '',
        pid: container.pid,
      });
      void this.watchInit(task);
      return { pid: container.pid };
    } catch (e) {
      this.tasks.delete(id);
      io?.close();
      if (rootfsMounted) unmountRootfs(bundle);
      throw toStatus(e);
    }
  }

  /** OOM events while the init runs, then its exit (Container.events checks for OOM kills first). */
  private async watchInit(task: Task): Promise<void> {
    const init = task.init;
    let result = { code: null as number | null, signal: null as string | null };
    try {
      for await (const ev of task.container.events()) {
        if (ev.type === 'oom') this.events.publish('TaskOOM', { container_id: task.id });
        else if (ev.type === 'exit') result = ev;
      }
    } catch (e) {
      this.log(`events of ${task.id}: ${(e as Error).message}`);
      result = await task.container.wait();
    }
    const exit = { status: exitStatus(result, this.signals), at: Date.now() };
    await init.io.finished();
    init.io.close();
    if (init.starting) await init.starting;
    this.events.publish('TaskExit', {
      container_id: task.id,
      id: task.id,
      pid: init.pid,
      exit_status: exit.status,
      exited_at: timestamp(exit.at),
    });
    init.setExit(exit);
  }

  private async watchExec(task: Task, p: Proc): Promise<void> {
    const result = await p.handle!.wait();
    const exit = { status: exitStatus(result, this.signals), at: Date.now() };
    await p.io.finished();
    p.io.close();
    if (p.starting) await p.starting;
    this.events.publish('TaskExit', {
      container_id: task.id,
      id: p.execId,
      pid: p.pid,
      exit_status: exit.status,
      exited_at: timestamp(exit.at),
    });
    p.setExit(exit);
  }

  async start(req: Req): Promise<Req> {
    const task = this.task(String(req.id));
    const execId = String(req.exec_id ?? '');
    if (!execId) {
      let done!: () => void;
      task.init.starting = new Promise((r) => {
        done = r;
      });
      try {
        await this.rt.start(task.id);
        this.events.publish('TaskStart', { container_id: task.id, pid: task.init.pid });
        return { pid: task.init.pid };
      } catch (e) {
        throw toStatus(e);
      } finally {
        done();
      }
    }
    const p = this.proc(task.id, execId);
    if (p.handle || p.exit) throw new StatusError(CODE.FAILED_PRECONDITION, `exec "${execId}" of task "${task.id}" was already started`);
    try {
      await p.io.ready;
      const handle = await this.rt.exec(task.id, p.spec!, {
        stdio: p.io.stdio,
        ...(p.paths.terminal ? { onTerminal: p.io.onTerminal } : {}),
      });
      p.io.attach(handle.stdin);
      p.handle = handle;
      p.pid = handle.pid;
      this.events.publish('TaskExecStarted', { container_id: task.id, exec_id: execId, pid: handle.pid });
      void this.watchExec(task, p);
      return { pid: handle.pid };
    } catch (e) {
      // A failed exec is an exited one: its Wait and Delete still answer.
      p.io.close();
      p.setExit({ status: 255, at: Date.now() });
      throw toStatus(e);
    }
  }

  async exec(req: Req): Promise<Req> {
    const { ProcessIO } = await loadProcessIo(); // before the checks: nothing awaits between them and the exec's entry
    const task = this.task(String(req.id));
    const execId = String(req.exec_id);
    if (!execId) throw new StatusError(CODE.INVALID_ARGUMENT, 'exec_id is empty');
    if (task.execs.has(execId)) throw new StatusError(CODE.ALREADY_EXISTS, `exec "${execId}" of task "${task.id}" already exists`);
    if (task.init.exit) throw new StatusError(CODE.FAILED_PRECONDITION, `task "${task.id}" has stopped`);
    const spec = req.spec as AnyMessage | null;
    let process: Process;
    try {
      process = JSON.parse(Buffer.from(spec?.value ?? []).toString('utf8')) as Process;
    } catch (e) {
      throw new StatusError(CODE.INVALID_ARGUMENT, `exec "${execId}": spec is not a JSON process: ${(e as Error).message}`);
    }
    const paths: IoPaths = { stdin: req.stdin ?? '', stdout: req.stdout ?? '', stderr: req.stderr ?? '', terminal: !!req.terminal };
    process.terminal = paths.terminal;
    const p = newProc(execId, paths, new ProcessIO(paths, { id: task.id, namespace: this.events.namespace }));
    p.spec = process;
    task.execs.set(execId, p);
    this.events.publish('TaskExecAdded', { container_id: task.id, exec_id: execId });
    return {};
  }

  async delete(req: Req): Promise<Req> {
    const task = this.task(String(req.id));
    const execId = String(req.exec_id ?? '');
    if (execId) {
      const p = this.proc(task.id, execId);
      if (p.handle && !p.exit) throw new StatusError(CODE.FAILED_PRECONDITION, `exec "${execId}" of task "${task.id}" is still running`);
      task.execs.delete(execId);
      p.io.close();
      const exit = p.exit ?? { status: 0, at: Date.now() };
      this.events.publish('TaskDelete', {
        container_id: task.id,
        id: execId,
        pid: p.pid,
        exit_status: exit.status,
        exited_at: timestamp(exit.at),
      });
      return { pid: p.pid, exit_status: exit.status, exited_at: timestamp(exit.at) };
    }
    const state = this.statusOf(task);
    if (state === STATUS.RUNNING || state === STATUS.PAUSED) {
      throw new StatusError(CODE.FAILED_PRECONDITION, `task "${task.id}" is still running: kill it first`);
    }
    try {
      await this.rt.delete(task.id, { force: true });
    } catch (e) {
      throw toStatus(e);
    }
    const exit = await task.init.exited;
    for (const p of task.execs.values()) p.io.close();
    if (task.rootfsMounted) unmountRootfs(task.bundle);
    this.tasks.delete(task.id);
    leaveDeleteResponse(task.bundle, task.init.pid, exit.status, exit.at);
    this.events.publish('TaskDelete', {
      container_id: task.id,
      id: task.id,
      pid: task.init.pid,
      exit_status: exit.status,
      exited_at: timestamp(exit.at),
    });
    return { pid: task.init.pid, exit_status: exit.status, exited_at: timestamp(exit.at) };
  }

  private statusOf(task: Task): number {
    if (task.init.exit) return STATUS.STOPPED;
    try {
      const s = this.rt.state(task.id).status;
      return (
        (
          {
            creating: STATUS.CREATED,
            created: STATUS.CREATED,
            running: STATUS.RUNNING,
            paused: STATUS.PAUSED,
            stopped: STATUS.STOPPED,
          } as Record<string, number>
        )[s] ?? STATUS.UNKNOWN
      );
    } catch {
      return STATUS.UNKNOWN;
    }
  }

  async state(req: Req): Promise<Req> {
    const task = this.task(String(req.id));
    const execId = String(req.exec_id ?? '');
    const p = this.proc(task.id, execId);
    const status = execId ? (p.exit ? STATUS.STOPPED : p.handle ? STATUS.RUNNING : STATUS.CREATED) : this.statusOf(task);
    return {
      id: execId || task.id,
      bundle: task.bundle,
      pid: p.pid,
      status,
      stdin: p.paths.stdin,
      stdout: p.paths.stdout,
      stderr: p.paths.stderr,
      terminal: p.paths.terminal,
      exit_status: p.exit?.status ?? 0,
      exited_at: timestamp(p.exit?.at ?? 0),
      exec_id: execId,
    };
  }

  async kill(req: Req): Promise<Req> {
    const task = this.task(String(req.id));
    const execId = String(req.exec_id ?? '');
    const signal = Number(req.signal);
    if (execId) {
      const p = this.proc(task.id, execId);
      if (!p.handle || p.exit) throw new StatusError(CODE.NOT_FOUND, `exec "${execId}" of task "${task.id}": process already finished`);
      p.handle.kill(signal);
      return {};
    }
    if (task.init.exit && !req.all) throw new StatusError(CODE.NOT_FOUND, `task "${task.id}": process already finished`);
    try {
      this.rt.kill(task.id, signal, { all: !!req.all });
    } catch (e) {
      throw toStatus(e);
    }
    return {};
  }

  async pids(req: Req): Promise<Req> {
    const task = this.task(String(req.id));
    try {
      return { processes: this.rt.pids(task.id).map((pid) => ({ pid })) };
    } catch (e) {
      throw toStatus(e);
    }
  }

  async pause(req: Req): Promise<Req> {
    const task = this.task(String(req.id));
    try {
      this.rt.pause(task.id);
    } catch (e) {
      throw toStatus(e);
    }
    this.events.publish('TaskPaused', { container_id: task.id });
    return {};
  }

  async resume(req: Req): Promise<Req> {
    const task = this.task(String(req.id));
    try {
      this.rt.resume(task.id);
    } catch (e) {
      throw toStatus(e);
    }
    this.events.publish('TaskResumed', { container_id: task.id });
    return {};
  }

  async closeIO(req: Req): Promise<Req> {
    const p = this.proc(String(req.id), String(req.exec_id ?? ''));
    if (req.stdin) p.io.closeStdin();
    return {};
  }

  async resizePty(req: Req): Promise<Req> {
    const p = this.proc(String(req.id), String(req.exec_id ?? ''));
    p.io.resize(Number(req.width), Number(req.height));
    return {};
  }

  async update(req: Req): Promise<Req> {
    const task = this.task(String(req.id));
    const any = req.resources as AnyMessage | null;
    if (!any?.value?.length) return {};
    let resources: Resources;
    try {
      resources = JSON.parse(Buffer.from(any.value).toString('utf8')) as Resources;
    } catch (e) {
      throw new StatusError(CODE.INVALID_ARGUMENT, `update: resources are not JSON linux resources: ${(e as Error).message}`);
    }
    try {
      this.rt.update(task.id, resources);
    } catch (e) {
      throw toStatus(e);
    }
    return {};
  }

  async wait(req: Req): Promise<Req> {
    const p = this.proc(String(req.id), String(req.exec_id ?? ''));
    const exit = await p.exited;
    return { exit_status: exit.status, exited_at: timestamp(exit.at) };
  }

  async stats(req: Req): Promise<Req> {
    const task = this.task(String(req.id));
    try {
      // Loaded on the first Stats: the metrics' message reflection is not needed to run containers.
      const { containerMetrics } = await import('./metrics.js');
      return { stats: containerMetrics(this.rt.stats(task.id), this.rt.saved(task.id).cgroupPaths) };
    } catch (e) {
      throw toStatus(e);
    }
  }

  async connect(req: Req): Promise<Req> {
    const task = this.tasks.get(String(req.id));
    return { shim_pid: process.pid, task_pid: task?.init.pid ?? 0, version: `runt ${runtVersion()}` };
  }

  async shutdown(): Promise<Req> {
    if (this.tasks.size === 0) setImmediate(() => this.onEmpty());
    return {};
  }

  async checkpoint(): Promise<Req> {
    throw new StatusError(CODE.UNIMPLEMENTED, 'checkpoint: runt has no CRIU support');
  }
}
