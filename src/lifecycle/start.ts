// `start`: release the parked init by writing one byte into its exec fifo, then run poststart hooks.
// A poststart hook that fails is an error of `start` (runtime-spec 1.3 runtime.md, lifecycle step 9):
// the container is stopped and destroyed (step 12, what delete does, poststop hooks included) and the
// hook's failure is reported. Earlier versions of the spec only asked for a warning.
import { closeSync, constants as fsc, openSync, unlinkSync, writeSync } from 'node:fs';
import { InvalidStateError } from '../errors.js';
import { runHooks } from './hooks-on-demand.js';
import { deleteContainer } from './delete.js';
import { HOOK_STATUS } from './hook-status.js';
import { bindNotify, relayReady } from './notify-socket.js';
import type { RuntimeContext } from './context.js';
import { ociState, statusOf } from './status.js';

export async function startContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const lock = await ctx.store.lockAsync(id);
  let saved;
  let notifyFd = -1;
  try {
    saved = ctx.store.read(id);
    const status = statusOf(ctx.store, saved);
    if (!saved || status !== 'created') {
      throw new InvalidStateError(`cannot start container "${id}": it is ${status}, not created`);
    }
    const fifo = ctx.store.fifoPath(id);
    let fd: number;
    try {
      fd = openSync(fifo, fsc.O_WRONLY | fsc.O_NONBLOCK);
    } catch (e) {
      throw new InvalidStateError(`cannot start container "${id}": its init is gone (${(e as NodeJS.ErrnoException).code})`);
    }
    // The container's notify socket must be bound before its process may exec and write to it.
    if (saved.notifySocket) notifyFd = bindNotify(ctx.store.dir(id));
    try {
      writeSync(fd, Buffer.from([0]));
    } finally {
      closeSync(fd);
    }
    // The fifo's absence is what makes the status `running` (status.ts): no state to rewrite.
    unlinkSync(fifo);
  } finally {
    lock.release();
  }
  if (notifyFd >= 0) await relayReady(ctx.store.dir(id), notifyFd, saved.notifySocket!, saved.pid, saved.pidStartTime);
  try {
    await runHooks(saved.spec.hooks, 'poststart', ociState(saved, HOOK_STATUS.poststart));
  } catch (e) {
    try {
      await deleteContainer(ctx, id, true);
    } catch (d) {
      ctx.log.warn(`after the poststart hook failed: ${(d as Error).message}`);
    }
    throw e;
  }
}
