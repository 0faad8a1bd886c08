// The library entry: a Runtime owns a state root; containers it creates are handles on their init.
// create and exec load their modules (spec validation, the planner, seccomp) on first use: the CLI
// starts a process per operation and `state`, `start`, `kill` and `delete` need none of them.
import type { Readable, Writable } from 'node:stream';
import { createLogger, silentLogger, type Logger } from './log.js';
import { StateStore, DEFAULT_ROOT, checkId, type SavedState } from './state/store.js';
import type { RuntimeContext } from './lifecycle/context.js';
import type { CreateOptions } from './lifecycle/create.js';
import { startContainer } from './lifecycle/start.js';
import { killContainer } from './lifecycle/kill.js';
import { deleteContainer, waitGone } from './lifecycle/delete.js';
import { ParentCgroups } from './lifecycle/parent-cgroups.js';
import { ociState, statusOf } from './lifecycle/status.js';
import { parseSignal, signalName } from './lifecycle/signals.js';
import type { StdioOption } from './lifecycle/stdio.js';
import type { Spec, State } from './spec/types.js';
import { ContainerExistsError, ContainerNotFoundError, InvalidArgumentError, RuntError } from './errors.js';
import { containerPids, containerStats, pauseContainer, resumeContainer, updateContainer } from './lifecycle/resources.js';
import { containerEvents, type RuntEvent } from './lifecycle/events.js';
import type { ExecHandle, ExecOptions } from './lifecycle/exec.js';
import type { Process } from './spec/types.js';
import type { Resources } from './spec/types.js';
import type { CgroupStats } from './cgroups/manager.js';
import { storeRoot } from './store-root.js';
import { Volumes } from './volume/index.js';
import { Networks } from './network/index.js';
import { ImageApi } from './image/api.js';
import type { ImageContainerOptions } from './image/prepare.js';

export interface RuntimeOptions {
  /** State directory (default /run/runt). */
  root?: string;
  logger?: Logger;
  /** Who makes the cgroups of containers created here: 'cgroupfs' (runt itself, the default) or
   *  'systemd' (a transient scope per container, over D-Bus; cgroup v2 hosts). */
  cgroupManager?: 'cgroupfs' | 'systemd';
  /** runt's store: volumes, networks, images (default /var/lib/runt, or $RUNT_STORE). */
  store?: string;
}

/** rt.create(id, { image, args }): a container from an image (pulled when missing). */
export type ImageCreateOptions = ImageContainerOptions & ContainerOptions;

export interface WaitResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  /** Signal name (e.g. "SIGKILL"), or null. */
  signal: string | null;
}

/** CreateOptions as the library takes them: stdio may also name pipes ('pipe') and /dev/null ('ignore'). */
export type ContainerOptions = Omit<CreateOptions, 'bundle' | 'spec' | 'stdio'> & {
  bundle?: string;
  /** One option for all three, or [stdin, stdout, stderr]; default 'inherit'. */
  stdio?: StdioOption | [StdioOption, StdioOption, StdioOption];
};

/** ExecOptions with the same stdio choices as create. */
export type ProcessOptions = Omit<ExecOptions, 'stdio'> & { stdio?: StdioOption | [StdioOption, StdioOption, StdioOption] };

export interface EventOptions {
  /** Time between `stats` events; 0 for none (default 5000 ms). */
  intervalMs?: number;
  signal?: AbortSignal;
}

export class Runtime {
  readonly root: string;
  /** runt's store (volumes, networks). */
  readonly store: string;
  /** Named volumes: create, list, inspect, remove, prune. */
  readonly volumes: Volumes;
  /** CNI networks: create, list, inspect, remove; connect and disconnect containers. */
  readonly networks: Networks;
  /** The images of the store (pull, list, inspect, remove, prune, bundle). */
  readonly images: ImageApi;
  private readonly ctx: RuntimeContext;
  /** Inits this runtime is the parent of, until deleted: their exit status and their reaping. */
  private readonly children = new Map<string, Container>();
  /** Processes exec'd into each container and not reaped yet (this runtime is their parent). */
  private readonly execs = new Map<string, Set<ExecHandle>>();
  /** The tail of each container's queue of operations that hold its lock across an await. */
  private readonly busy = new Map<string, Promise<unknown>>();

  constructor(opts: RuntimeOptions = {}) {
    if (opts.cgroupManager !== undefined && opts.cgroupManager !== 'cgroupfs' && opts.cgroupManager !== 'systemd') {
      throw new InvalidArgumentError(`cgroupManager: "${String(opts.cgroupManager)}" is neither cgroupfs nor systemd`);
    }
    this.root = opts.root ?? DEFAULT_ROOT;
    this.store = storeRoot(opts.store);
    this.ctx = {
      store: new StateStore(this.root),
      log: opts.logger ?? silentLogger,
      parentCgroups: new ParentCgroups(),
      storeDir: this.store,
      cgroupDriver: opts.cgroupManager,
    };
    this.volumes = new Volumes(this.store);
    this.networks = new Networks(this.ctx);
    this.images = new ImageApi(this.store);
  }

  /** Create a container from a bundle directory or a spec object (its root.path absolute, or relative to `bundle`). */
  create(id: string, bundle: string | Spec | ImageCreateOptions, options: ContainerOptions = {}): Promise<Container> {
    if (typeof bundle === 'object' && 'image' in bundle) return this.createFromImage(id, bundle);
    return this.serial(id, async () => {
      const { stdio: stdioOption, ...rest } = options;
      const [{ createContainer }, { prepareStdio }] = await Promise.all([import('./lifecycle/create.js'), import('./lifecycle/stdio.js')]);
      const stdio = await prepareStdio(stdioOption);
      const opts: CreateOptions = { ...rest, ...(typeof bundle === 'string' ? { bundle } : { spec: bundle }), stdio: stdio.fds };
      let init;
      try {
        init = await createContainer(this.ctx, id, opts);
      } catch (e) {
        stdio.destroy();
        throw e;
      }
      stdio.closeChildEnds();
      const c = new Container(this, id, init.pid, init.pidfd, { stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr });
      c.traceDone = init.traceDone;
      this.children.set(id, c);
      return c;
    });
  }

  /** The image's snapshots under an overlay of the container's own (src/image/prepare.ts), then create. */
  private async createFromImage(id: string, o: ImageCreateOptions): Promise<Container> {
    const { image, args, entrypoint, env, pull, pullOptions, terminal, copy, onStage, ...containerOptions } = o;
    if (this.exists(id)) throw new ContainerExistsError(id);
    const [{ prepareContainer }, { ImageStore }, { removeContainerDir }] = await Promise.all([
      import('./image/prepare.js'),
      import('./image/store.js'),
      import('./image/container-dir.js'),
    ]);
    const prepared = await prepareContainer(new ImageStore(this.images.storeDir), id, {
      image,
      args,
      entrypoint,
      env,
      pull,
      pullOptions,
      terminal,
      copy,
      onStage,
      volumesByCaller: true,
    });
    try {
      // The image's Volumes: anonymous volumes filled from the image (unless -v mounts something there).
      if (prepared.imageVolumes?.length) {
        const { parseVolumeArg } = await import('./volume/parse.js');
        const given = new Set((containerOptions.volumes ?? []).map((v) => parseVolumeArg(v).destination));
        const anonymous = prepared.imageVolumes.map((d) => parseVolumeArg(d).destination).filter((d) => !given.has(d));
        containerOptions.volumes = [...(containerOptions.volumes ?? []), ...anonymous];
      }
      return await this.create(id, prepared.bundle, containerOptions);
    } catch (e) {
      if (!this.exists(id)) removeContainerDir(prepared.spec);
      throw e;
    }
  }

  private exists(id: string): boolean {
    checkId(id);
    try {
      this.ctx.store.read(id);
      return true;
    } catch (e) {
      if (e instanceof ContainerNotFoundError) return false;
      throw e;
    }
  }

  /** create + start + wait + delete. */
  async run(id: string, bundle: string | Spec | ImageCreateOptions, options: ContainerOptions = {}): Promise<WaitResult> {
    const c = await this.create(id, bundle, options);
    try {
      await c.start();
      return await c.wait();
    } finally {
      await this.delete(id, { force: true });
    }
  }

  /** A handle on an existing container: the one create() returned, or a new one (whose wait()
   *  then knows only that the init ended, not how: only its parent can learn that). */
  container(id: string): Container {
    const mine = this.children.get(id);
    if (mine) return mine;
    const saved = this.saved(id);
    return new Container(this, id, saved.pid, -1, undefined, saved.pidStartTime);
  }

  start(id: string): Promise<void> {
    return this.serial(id, () => startContainer(this.ctx, id));
  }

  kill(id: string, signal: string | number = 'SIGTERM', opts: { all?: boolean } = {}): void {
    this.exclusive(id, () => killContainer(this.ctx, id, parseSignal(signal), opts.all ?? false));
  }

  /** Remove the container; an init this runtime started is reaped (no zombie is left behind). */
  delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    return this.serial(id, async () => {
      const execs = this.reapExecs(id);
      await deleteContainer(this.ctx, id, opts.force ?? false);
      await execs;
      const mine = this.children.get(id);
      if (mine) {
        this.children.delete(id);
        await mine.wait();
      }
    });
  }

  pause(id: string): void {
    this.exclusive(id, () => pauseContainer(this.ctx, id));
  }

  resume(id: string): void {
    this.exclusive(id, () => resumeContainer(this.ctx, id));
  }

  /** Merge and apply new linux.resources values (validated first). */
  update(id: string, resources: Resources): void {
    this.exclusive(id, () => updateContainer(this.ctx, id, resources));
  }

  /** Pids of every process in the container's cgroup. */
  pids(id: string): number[] {
    return this.exclusive(id, () => containerPids(this.ctx, id));
  }

  /** Resource usage in runc's `events --stats` shape. */
  stats(id: string): CgroupStats {
    return this.exclusive(id, () => containerStats(this.ctx, id));
  }

  /** Stats every interval and OOM events until the container stops (or `signal` aborts). */
  events(id: string, opts: EventOptions = {}): AsyncGenerator<RuntEvent> {
    this.saved(id);
    return containerEvents(this.ctx, id, opts.intervalMs ?? 5000, opts.signal, { exit: this.children.get(id)?.wait() });
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
  async exec(id: string, process: Process, opts: ProcessOptions = {}): Promise<ExecHandle & ContainerIO> {
    const { stdio: stdioOption, ...rest } = opts;
    const [{ execInContainer, ExecHandle }, { prepareStdio }] = await Promise.all([
      import('./lifecycle/exec.js'),
      import('./lifecycle/stdio.js'),
    ]);
    const stdio = await prepareStdio(stdioOption);
    let p;
    try {
      p = await this.serial(id, () => execInContainer(this.ctx, id, process, { ...rest, stdio: stdio.fds }));
    } catch (e) {
      stdio.destroy();
      throw e;
    }
    stdio.closeChildEnds();
    let mine = this.execs.get(id);
    if (!mine) this.execs.set(id, (mine = new Set()));
    const set = mine;
    const handle: ExecHandle = new ExecHandle(p.pid, p.pidfd, () => {
      set.delete(handle);
      if (set.size === 0 && this.execs.get(id) === set) this.execs.delete(id);
    });
    set.add(handle);
    return Object.assign(handle, { stdin: stdio.stdin, stdout: stdio.stdout, stderr: stdio.stderr });
  }

  /** Reap the container's exec'd processes as they exit. Until their parent (this process) reaps
   *  them, an init in its own PID namespace cannot finish exiting (the kernel waits for every
   *  process of the namespace to be gone), so wait() and delete() would wait forever for a caller
   *  that never waited on its exec handles. Resolves once all of them are reaped. */
  reapExecs(id: string): Promise<void> {
    const handles = [...(this.execs.get(id) ?? [])];
    return Promise.all(handles.map((h) => h.wait().catch(() => undefined))).then(() => undefined);
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

  // The state directory's flock guards a container between processes; inside this one, operations
  // that hold it across an await are queued per container, and a synchronous one that would have
  // to wait for them (blocking the event loop they need to finish) is refused instead.
  private serial<T>(id: string, op: () => Promise<T>): Promise<T> {
    const previous = this.busy.get(id) ?? Promise.resolve();
    const result = previous.then(async () => {
      try {
        return await op();
      } finally {
        // Before the caller resumes: right after `await rt.start(id)`, rt.kill(id) must be allowed.
        if (this.busy.get(id) === tail) this.busy.delete(id);
      }
    });
    const tail: Promise<unknown> = result.then(
      () => {},
      () => {},
    );
    this.busy.set(id, tail);
    return result;
  }

  private exclusive<T>(id: string, op: () => T): T {
    if (this.busy.has(id)) throw new RuntError('EBUSY', `container "${id}" is busy: a create, start, exec or delete of it is in progress`);
    return op();
  }
}

export interface ContainerIO {
  stdin: Writable | null;
  stdout: Readable | null;
  stderr: Readable | null;
}

/** A handle on a container. From create() this process is the init's parent, so wait() sees the exit status. */
export class Container implements ContainerIO {
  private exit?: Promise<WaitResult>;
  /** With trace after start: settles once the last step (exec) was reported; wait() waits for it. */
  traceDone?: Promise<void>;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;

  constructor(
    readonly runtime: Runtime,
    readonly id: string,
    readonly pid: number,
    private readonly pidfd: number,
    io?: ContainerIO,
    private readonly pidStartTime = 0,
  ) {
    this.stdin = io?.stdin ?? null;
    this.stdout = io?.stdout ?? null;
    this.stderr = io?.stderr ?? null;
  }

  start(): Promise<void> {
    return this.runtime.start(this.id);
  }

  /** Resolves when the init exits, from its pidfd on the event loop. */
  wait(): Promise<WaitResult> {
    if (!this.exit) void this.runtime.reapExecs(this.id);
    this.exit ??=
      this.pidfd >= 0
        ? import('./lifecycle/spawn.js')
            .then(({ reap }) => reap(this.pidfd))
            .then((st) => ({ code: st.code, signal: st.signal === null ? null : signalName(st.signal) }))
        : waitGone(this.pid, this.pidStartTime).then(() => ({ code: null, signal: null }));
    if (this.traceDone) {
      const traced = this.traceDone;
      this.exit = this.exit.then(async (r) => {
        await traced;
        return r;
      });
      this.traceDone = undefined;
    }
    return this.exit;
  }

  kill(signal: string | number = 'SIGTERM', opts: { all?: boolean } = {}): void {
    this.runtime.kill(this.id, signal, opts);
  }

  state(): State {
    return this.runtime.state(this.id);
  }

  pause(): void {
    this.runtime.pause(this.id);
  }

  resume(): void {
    this.runtime.resume(this.id);
  }

  update(resources: Resources): void {
    this.runtime.update(this.id, resources);
  }

  stats(): CgroupStats {
    return this.runtime.stats(this.id);
  }

  /** `stats` (every intervalMs, default none), `oom`, and a last `exit` event with the status. */
  events(opts: EventOptions = {}): AsyncGenerator<RuntEvent> {
    return containerEvents(this.runtime.context, this.id, opts.intervalMs ?? 0, opts.signal, { exit: this.wait(), includeExit: true });
  }

  exec(process: Process, opts: ProcessOptions = {}): Promise<ExecHandle & ContainerIO> {
    return this.runtime.exec(this.id, process, opts);
  }

  async delete(opts: { force?: boolean } = {}): Promise<void> {
    await this.runtime.delete(this.id, opts);
  }
}

export { createLogger };
