// `start`: release the parked init by writing one byte into its exec fifo, then run poststart hooks.
import { closeSync, constants as fsc, openSync, unlinkSync, writeSync } from 'node:fs';
import { InvalidStateError } from '../errors.js';
import { runHooksWarn } from './hooks-on-demand.js';
import type { RuntimeContext } from './context.js';
import { ociState, statusOf } from './status.js';

export async function startContainer(ctx: RuntimeContext, id: string): Promise<void> {
  const lock = await ctx.store.lockAsync(id);
  let saved;
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
  await runHooksWarn(saved.spec.hooks, 'poststart', ociState(saved, 'running'), (m) => ctx.log.warn(m));
}
