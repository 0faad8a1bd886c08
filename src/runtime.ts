// The library entry: a Runtime owns a state root; containers it creates are handles on their init.
import { createLogger, silentLogger, type Logger } from './log.js';
import { StateStore, DEFAULT_ROOT, type SavedState } from './state/store.js';
import type { RuntimeContext } from './lifecycle/context.js';
import { createContainer, reap, type CreateOptions } from './lifecycle/create.js';
import { startContainer } from './lifecycle/start.js';
import { killContainer } from './lifecycle/kill.js';
import { deleteContainer, waitGone } from './lifecycle/delete.js';
import { ociState, statusOf } from './lifecycle/status.js';
import { parseSignal, signalName } from './lifecycle/signals.js';
import type { Spec, State } from './spec/types.js';
import { ContainerNotFoundError } from './errors.js';
import { containerPids, containerStats, pauseContainer, resumeContainer, updateContainer } from './lifecycle/resources.js';
import { containerEvents, type RuntEvent } from './lifecycle/events.js';
import { execInContainer, ExecHandle, type ExecOptions } from './lifecycle/exec.js';
import type { Process } from './spec/types.js';
import type { Resources } from './spec/types.js';
import type { CgroupStats } from './cgroups/manager.js';

export interface RuntimeOptions {
  /** State directory (default /run/runt). */
  root?: string;
  logger?: Logger;
}

export interface WaitResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** Signal name (e.g. "SIGKILL"), or null. */
  signal: string | null;
}

export class Runtime {
  readonly root: string;
  private readonly ctx: RuntimeContext;

  constructor(opts: RuntimeOptions = {}) {
    this.root = opts.root ?? DEFAULT_ROOT;
    this.ctx = { store: new StateStore(this.root), log: opts.logger ?? silentLogger };
  }

  /** Create a container from a bundle directory or a spec object (its root.path absolute, or relative to `bundle`). */
  async create(id: string, bundle: string | Spec, options: Omit<CreateOptions, 'bundle' | 'spec'> & { bundle?: string } = {}): Promise<Container> {
    const opts: CreateOptions = typeof bundle === 'string' ? { ...options, bundle } : { ...options, spec: bundle };
    const init = await createContainer(this.ctx, id, opts);
    return new Container(this, id, init.pid, init.pidfd);
  }

  /** create + start + wait + delete. */
  async run(id: string, bundle: string | Spec, options: Omit<CreateOptions, 'bundle' | 'spec'> & { bundle?: string } = {}): Promise<WaitResult> {
    const c = await this.create(id, bundle, options);
    try {
      await c.start();
      return await c.wait();
    } finally {
      await this.delete(id, { force: true });
    }
  }

  start(id: string): Promise<void> {
    return startContainer(this.ctx, id);
  }

  kill(id: string, signal: string | number = 'SIGTERM', opts: { all?: boolean } = {}): void {
    killContainer(this.ctx, id, parseSignal(signal), opts.all ?? false);
  }

  delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    return deleteContainer(this.ctx, id, opts.force ?? false);
  }

  pause(id: string): void {
    pauseContainer(this.ctx, id);
  }

  resume(id: string): void {
    resumeContainer(this.ctx, id);
  }

  /** Merge and apply new linux.resources values (validated first). */
  update(id: string, resources: Resources): void {
    updateContainer(this.ctx, id, resources);
  }

  /** Pids of every process in the container's cgroup. */
  pids(id: string): number[] {
    return containerPids(this.ctx, id);
  }

  /** Resource usage in runc's `events --stats` shape. */
  stats(id: string): CgroupStats {
    return containerStats(this.ctx, id);
  }

  /** Stats every interval and OOM events until the container stops (or `signal` aborts). */
  events(id: string, opts: { intervalMs?: number; signal?: AbortSignal } = {}): AsyncGenerator<RuntEvent> {
    this.saved(id);
    return containerEvents(this.ctx, id, opts.intervalMs ?? 5000, opts.signal);
  }

  state(id: string): State {
    const saved = this.ctx.store.read(id);
    if (!saved) throw new ContainerNotFoundError(id);
    return ociState(saved, statusOf(this.ctx.store, saved));
  }

  /** Every container under the root, with runc's `list` fields. */
  list(): Array<State & { created: string; rootfs: string }> {
    const out: Array<State & { created: string; rootfs: string }> = [];
    for (const id of this.ctx.store.ids()) {
      let saved: SavedState | null;
      try {
        saved = this.ctx.store.read(id);
      } catch {
        continue;
      }
      if (!saved) continue;
      out.push({ ...ociState(saved, statusOf(this.ctx.store, saved)), created: saved.created, rootfs: saved.rootfs });
    }
    return out;
  }

  /** Start another process in a running container (it joins the container's namespaces, cgroups,
   *  seccomp filter; what `process` leaves out comes from the container's process). */
  async exec(id: string, process: Process, opts: ExecOptions = {}): Promise<ExecHandle> {
    const p = await execInContainer(this.ctx, id, process, opts);
    return new ExecHandle(p.pid, p.pidfd);
  }

  /** The saved record (spec, cgroup paths) — for commands like exec, ps and update. */
  saved(id: string): SavedState {
    const saved = this.ctx.store.read(id);
    if (!saved) throw new ContainerNotFoundError(id);
    return saved;
  }

  get context(): RuntimeContext {
    return this.ctx;
  }
}

/** A handle on a container this process created (it is the init's parent, so wait() sees the exit status). */
export class Container {
  private exit?: Promise<WaitResult>;

  constructor(readonly runtime: Runtime, readonly id: string, readonly pid: number, private pidfd: number) {}

  start(): Promise<void> {
    return this.runtime.start(this.id);
  }

  /** Resolves when the init exits, from its pidfd on the event loop. */
  wait(): Promise<WaitResult> {
    this.exit ??= this.pidfd >= 0
      ? reap(this.pidfd).then((st) => ({ code: st.code, signal: st.signal === null ? null : signalName(st.signal) }))
      : waitGone(this.pid, 0).then(() => ({ code: null, signal: null }));
    return this.exit;
  }

  kill(signal: string | number = 'SIGTERM', opts: { all?: boolean } = {}): void {
    this.runtime.kill(this.id, signal, opts);
  }

  state(): State {
    return this.runtime.state(this.id);
  }

  async delete(opts: { force?: boolean } = {}): Promise<void> {
    await this.runtime.delete(this.id, opts);
  }
}

export { createLogger };
