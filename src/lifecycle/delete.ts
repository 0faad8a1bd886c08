// `delete`: stop what is left (created containers always, running ones with --force), remove the
// cgroups and the state directory, then run poststop hooks.
import { native } from '../native.js';
import { openCgroupManager } from '../cgroups/index.js';
import { ContainerNotFoundError, InvalidStateError } from '../errors.js';
import { runHooksWarn } from '../hooks.js';
import type { RuntimeContext } from './context.js';
import { signalCgroup } from './kill.js';
import { ociState, statusOf } from './status.js';
import { readProcStat } from '../state/process.js';

export async function deleteContainer(ctx: RuntimeContext, id: string, force = false): Promise<void> {
  let lock;
  try {
    lock = ctx.store.lock(id);
  } catch (e) {
    if (force && e instanceof ContainerNotFoundError) return;
    throw e;
  }
  try {
    const saved = ctx.store.read(id);
    const status = statusOf(ctx.store, saved);
    if ((status === 'running' || status === 'paused') && !force) {
      throw new InvalidStateError(`cannot delete container "${id}" that is not stopped: ${status}`);
    }
    if (saved) {
      if (status !== 'stopped' || saved.creating) {
        signalCgroup(saved.cgroupPaths, 9);
        if (saved.pid > 0) {
          try { process.kill(saved.pid, 9); } catch { /* gone */ }
        }
        await waitGone(saved.pid, saved.pidStartTime);
      }
      const cgroup = openCgroupManager(saved.cgroupPaths);
      await waitEmpty(cgroup);
      cgroup.destroy();
    }
    ctx.store.remove(id);
    if (saved && !saved.creating) {
      await runHooksWarn(saved.spec.hooks, 'poststop', ociState(saved, 'stopped'), (m) => ctx.log.warn(m));
    }
  } finally {
    lock.release();
  }
}

/** Resolves once the process has exited (a zombie counts as exited): pidfd polling, no sleeping loop. */
export async function waitGone(pid: number, startTime: number): Promise<void> {
  if (!(pid > 0)) return;
  const n = native();
  let fd: number;
  try {
    fd = n.pidfdOpen(pid);
  } catch {
    return;
  }
  try {
    const st = readProcStat(pid);
    if (st && startTime && st.startTime !== startTime) return;
    await n.whenReadable(fd);
  } finally {
    n.close(fd);
  }
}

async function waitEmpty(cgroup: { pids(): number[] }): Promise<void> {
  for (let i = 0; i < 200; i++) {
    let pids: number[];
    try {
      pids = cgroup.pids();
    } catch {
      return;
    }
    const live = pids.filter((p) => { const s = readProcStat(p); return s && s.state !== 'Z'; });
    if (live.length === 0) return;
    for (const p of live) { try { process.kill(p, 9); } catch { /* gone */ } }
    await new Promise((r) => setTimeout(r, 5));
  }
}
