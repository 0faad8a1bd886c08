// The long-lived shim: the Task service on the socket `start` handed over as fd 3, and runt's Claim
// (claim.ts) by which a later `start` hands it a container. A pod's shim (or, with
// RUNT_SHIM_SHARE=0, a container's) runs until containerd calls Shutdown with no task left
// (containerd does after deleting a shim's last task); the namespace's shared shim lingers after
// its last task for the idle period, so that the next container finds it running.
import { constants as osc } from 'node:os';
import { statSync, unlinkSync } from 'node:fs';
import { native } from '../native.js';
import type { ShimArgs } from './args.js';
import { stateRoot } from './state-root.js';
import { EventPublisher } from './publisher.js';
import { TaskService } from './task-service.js';
import { TtrpcServer } from './ttrpc-server.js';
import { sharedSocketAddress, sharingEnabled } from './address.js';
import { claimHandler, FRONT_SERVICE } from './claim.js';

const TASK = 'containerd.task.v2.Task';

/** A shim with no task and no client for this long exits: containerd started it, but the Create
 *  never came (containerd died or gave up in between), or it left without a Shutdown, or it is the
 *  shared shim, lingering after its last task. RUNT_SHIM_IDLE_TIMEOUT (seconds) sets it. */
function idleTimeoutMs(): number {
  const s = Number(process.env.RUNT_SHIM_IDLE_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 60_000;
}

/** Task methods: name → [request message, response message, handler]. */
function methods(s: TaskService): Array<[string, string, string, (r: Record<string, unknown>) => Promise<Record<string, unknown>>]> {
  const m = (name: string, req: string, res: string, fn: (r: Record<string, unknown>) => Promise<Record<string, unknown>>) =>
    [name, `containerd.task.v2.${req}`, res.includes('.') ? res : `containerd.task.v2.${res}`, fn] as [string, string, string, typeof fn];
  const empty = 'google.protobuf.Empty';
  return [
    m('State', 'StateRequest', 'StateResponse', (r) => s.state(r)),
    m('Create', 'CreateTaskRequest', 'CreateTaskResponse', (r) => s.create(r)),
    m('Start', 'StartRequest', 'StartResponse', (r) => s.start(r)),
    m('Delete', 'DeleteRequest', 'DeleteResponse', (r) => s.delete(r)),
    m('Pids', 'PidsRequest', 'PidsResponse', (r) => s.pids(r)),
    m('Pause', 'PauseRequest', empty, (r) => s.pause(r)),
    m('Resume', 'ResumeRequest', empty, (r) => s.resume(r)),
    m('Checkpoint', 'CheckpointTaskRequest', empty, () => s.checkpoint()),
    m('Kill', 'KillRequest', empty, (r) => s.kill(r)),
    m('Exec', 'ExecProcessRequest', empty, (r) => s.exec(r)),
    m('ResizePty', 'ResizePtyRequest', empty, (r) => s.resizePty(r)),
    m('CloseIO', 'CloseIORequest', empty, (r) => s.closeIO(r)),
    m('Update', 'UpdateTaskRequest', empty, (r) => s.update(r)),
    m('Wait', 'WaitRequest', 'WaitResponse', (r) => s.wait(r)),
    m('Stats', 'StatsRequest', 'StatsResponse', (r) => s.stats(r)),
    m('Connect', 'ConnectRequest', 'ConnectResponse', (r) => s.connect(r)),
    m('Shutdown', 'ShutdownRequest', empty, () => s.shutdown()),
  ];
}

export async function serve(args: ShimArgs, listenFd = 3): Promise<void> {
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} runt-shim ${args.id}: ${line}\n`);
  process.chdir('/'); // the first container's bundle goes away before a pod's shim does
  native().setSubreaper();
  const ttrpcAddress = process.env.TTRPC_ADDRESS || `${args.address}.ttrpc`;
  const events = new EventPublisher(ttrpcAddress, args.namespace, log);
  const signals = osc.signals as unknown as Record<string, number>;
  const service = new TaskService(stateRoot(args.namespace), events, signals, log);
  const server = new TtrpcServer();
  server.onError = (e) => log(`request failed: ${(e as Error)?.stack ?? e}`);
  /** Containers handed to this shim by a Claim whose Create has not come yet, with when. */
  const claims = new Map<string, number>();
  for (const [name, req, res, fn] of methods(service)) {
    const handler = name === 'Create' ? (r: Record<string, unknown>) => (claims.delete(String(r.id)), fn(r)) : fn;
    server.register(
      TASK,
      name,
      req,
      res,
      args.debug || process.env.RUNT_SHIM_LOG
        ? async (r) => {
            const ids = JSON.stringify({ id: r.id, exec_id: r.exec_id });
            log(`${name} ${ids}`);
            const t0 = performance.now();
            try {
              return await handler(r);
            } finally {
              log(`${name} answered in ${(performance.now() - t0).toFixed(2)} ms ${ids}`);
            }
          }
        : handler,
    );
  }
  const address = `unix://${args.socket}`;
  const shared = sharingEnabled() && address === sharedSocketAddress(args.address, args.namespace);
  let exiting = false;
  const idleMs = idleTimeoutMs();
  let idle: NodeJS.Timeout | undefined;
  const watchIdle = () => {
    const isIdle = service.tasks.size === 0 && server.connectionCount === 0;
    if (isIdle && !idle) {
      idle = setTimeout(() => exit(`no task and no client for ${idleMs / 1000} s: exiting`), idleMs);
    } else if (!isIdle && idle) {
      clearTimeout(idle);
      idle = undefined;
    }
  };
  // The socket goes first, while the shim still listens: a `start` then finds no file (and makes
  // a new shim) or this shim, which refuses its Claim from now on; never a file nobody serves.
  // Only the file this shim bound is removed: a newer shim's at the same path stays.
  const exit = (why: string) => {
    if (exiting) return;
    exiting = true;
    log(why);
    // The socket file `start` bound (its inode): the one the shim removes, and no other.
    const now = args.socket ? statSync(args.socket, { throwIfNoEntry: false }) : undefined;
    if (now && `${now.dev}:${now.ino}` === args.socketInode) {
      try {
        unlinkSync(args.socket);
      } catch {
        /* gone */
      }
    }
    server.close();
    events.flush().finally(() => process.exit(0));
  };
  server.register(
    FRONT_SERVICE,
    'Claim',
    'runt.shim.v1.ClaimRequest',
    'runt.shim.v1.ClaimResponse',
    claimHandler({
      args,
      address,
      exiting: () => exiting,
      claimed: (id) => {
        claims.set(id, Date.now());
        clearTimeout(idle);
        idle = undefined;
        watchIdle(); // a full idle period from now, if nothing else keeps the shim
      },
      log,
    }),
  );
  server.onConnections = watchIdle;
  await server.listen({ fd: listenFd });
  watchIdle();
  if (args.debug || process.env.RUNT_SHIM_LOG) log(`serving, ${Math.round(performance.now())} ms after Node started`);
  // containerd and its children come and go: never die of a closed pipe or a terminal's signal.
  process.on('exit', (code) => log(`exiting with ${code}`));
  process.on('uncaughtException', (e) => {
    log(`uncaught: ${e.stack ?? e}`);
    process.exit(1);
  });
  process.on('unhandledRejection', (e) => log(`unhandled rejection: ${(e as Error)?.stack ?? e}`));
  process.on('SIGPIPE', () => {});
  process.on('SIGHUP', () => {});
  process.on('SIGINT', () => {});
  // SIGTERM ends a shim with nothing to serve; one with containers stays (containerd's delete of
  // each container is what ends it, so that no container is left without its shim).
  process.on('SIGTERM', () => {
    if (service.tasks.size === 0) exit('SIGTERM with no task: exiting');
    else log(`SIGTERM ignored: ${service.tasks.size} task(s) still served`);
  });
  // Shutdown with no task left: the shared shim lingers (the idle timer ends it), as does a shim
  // that took a container whose Create has not come yet (for up to an idle period); any other
  // exits now.
  service.onEmpty = () => {
    for (const [id, at] of claims) if (Date.now() - at >= idleMs) claims.delete(id);
    if (shared || claims.size > 0) watchIdle();
    else exit('Shutdown with no task: exiting');
  };
}
