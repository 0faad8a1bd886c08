// `events`: a container's events as an async iterator — `stats` at once and then every interval,
// `oom` when the kernel OOM-kills a process in its memory cgroup, and (when asked) `exit` when its
// init ends — finishing once the container has stopped or the signal aborts. Nothing polls: the
// end comes from the init's pidfd, OOM kills from the kernel's notification (see cgroups/oom.ts), stats
// from the caller's interval.
import { openCgroupManager } from '../cgroups/index.js';
import type { CgroupManager, CgroupStats } from '../cgroups/manager.js';
import type { RuntimeContext } from './context.js';
import { waitGone } from './delete.js';
import { watchOom } from '../cgroups/oom.js';

export { oomKills } from '../cgroups/oom.js';

export type RuntEvent =
  | { type: 'stats'; id: string; data: CgroupStats }
  | { type: 'oom'; id: string }
  | { type: 'exit'; id: string; code: number | null; signal: string | null };

export interface EventSources {
  /** The init's exit status, when the caller is its parent (else its pidfd tells only that it ended). */
  exit?: Promise<{ code: number | null; signal: string | null }>;
  /** Yield an `exit` event as the last one. */
  includeExit?: boolean;
}

/** intervalMs 0: no stats events. */
export async function* containerEvents(
  ctx: RuntimeContext,
  id: string,
  intervalMs: number,
  signal?: AbortSignal,
  sources: EventSources = {},
): AsyncGenerator<RuntEvent> {
  const saved = ctx.store.read(id);
  if (!saved) return;
  const queue: RuntEvent[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  const push = (e: RuntEvent) => {
    queue.push(e);
    wake?.();
  };
  const end = () => {
    ended = true;
    wake?.();
  };

  const oom = watchOom(saved.cgroupPaths, () => push({ type: 'oom', id }));
  // Stats are read without the container's lock: a tick must never wait on (and so block the event
  // loop for) an operation of this same process that holds it.
  let cgroup: CgroupManager | undefined;
  const statsTick = () => {
    if (ended) return;
    oom.check();
    try {
      cgroup ??= openCgroupManager(saved.cgroupPaths);
      push({ type: 'stats', id, data: cgroup.stats() });
    } catch {
      // removed meanwhile: the exit source ends the stream
    }
  };
  const exit = sources.exit ?? waitGone(saved.pid, saved.pidStartTime).then(() => ({ code: null, signal: null }));
  void exit.then((st) => {
    oom.check();
    if (sources.includeExit) push({ type: 'exit', id, ...st });
    end();
  }, end);
  signal?.addEventListener('abort', end);
  const timer = intervalMs > 0 ? setInterval(statsTick, intervalMs) : undefined;
  try {
    if (intervalMs > 0) statsTick();
    for (;;) {
      while (queue.length) yield queue.shift()!;
      if (ended || signal?.aborted) return;
      await new Promise<void>((r) => {
        wake = r;
      });
      wake = undefined;
    }
  } finally {
    clearInterval(timer);
    oom.close();
    signal?.removeEventListener('abort', end);
  }
}
