// `kill`: a signal to the init, or with --all to every process in the container's cgroup.
import { native } from '../native.js';
import { withPidfd } from './pidfd.js';
import { openCgroupManager } from '../cgroups/index.js';
import { InvalidStateError } from '../errors.js';
import type { RuntimeContext } from './context.js';
import { statusOf } from './status.js';

export function killContainer(ctx: RuntimeContext, id: string, signal: number, all = false): void {
  const lock = ctx.store.lock(id);
  try {
    const saved = ctx.store.read(id);
    const status = statusOf(ctx.store, saved);
    if (!saved || status === 'stopped' || status === 'creating') {
      if (all && saved) return signalCgroup(saved.cgroupPaths, signal);
      throw new InvalidStateError(`cannot kill container "${id}": it is ${status}`);
    }
    if (all) signalCgroup(saved.cgroupPaths, signal);
    else signalPid(saved.pid, signal);
  } finally {
    lock.release();
  }
}

/** Signal through a pidfd: the pid cannot be reused between the check and the kill. */
export function signalPid(pid: number, signal: number): void {
  withPidfd(pid, (fd) => {
    try {
      native().pidfdSendSignal(fd, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  });
}

export function signalCgroup(paths: Record<string, string>, signal: number): void {
  let manager;
  try {
    manager = openCgroupManager(paths);
  } catch {
    return;
  }
  if (signal === 9 && manager.killAll?.()) return;
  const frozen = signal === 9 && safeFreeze(manager);
  try {
    for (const pid of manager.pids()) signalPid(pid, signal);
  } finally {
    if (frozen) manager.thaw();
  }
}

/** Freezing first keeps processes from forking away from a SIGKILL sweep. */
function safeFreeze(manager: { freeze(): void }): boolean {
  try {
    manager.freeze();
    return true;
  } catch {
    return false;
  }
}
