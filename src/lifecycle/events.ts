// `events`: a stream of runc-shaped events for one container — `stats` every interval and `oom`
// whenever the memory cgroup's OOM-kill counter grows — ending when the container stops.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeContext } from './context.js';
import { containerStats } from './resources.js';
import { statusOf } from './status.js';

export interface RuntEvent {
  type: 'stats' | 'oom';
  id: string;
  data?: unknown;
}

/** Kernel OOM kills counted for the cgroup (v1 memory.oom_control, v2 memory.events). */
export function oomKills(cgroupPaths: Record<string, string>): number {
  const files = [
    cgroupPaths.memory && join(cgroupPaths.memory, 'memory.oom_control'),
    cgroupPaths[''] !== undefined && join(cgroupPaths[''], 'memory.events'),
  ].filter(Boolean) as string[];
  for (const file of files) {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(file, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // controller missing: no OOM information
    }
  }
  return 0;
}

const OOM_CHECK_MS = 200;

export async function* containerEvents(ctx: RuntimeContext, id: string, intervalMs: number, signal?: AbortSignal): AsyncGenerator<RuntEvent> {
  const saved = ctx.store.read(id);
  if (!saved) return;
  let ooms = oomKills(saved.cgroupPaths);
  let nextStats = 0;
  while (!signal?.aborted) {
    const now = Date.now();
    const current = oomKills(saved.cgroupPaths);
    if (current > ooms) {
      ooms = current;
      yield { type: 'oom', id };
    }
    if (statusOf(ctx.store, ctx.store.read(id)) === 'stopped') return;
    if (now >= nextStats) {
      try {
        yield { type: 'stats', id, data: containerStats(ctx, id) };
      } catch {
        return;
      }
      nextStats = now + intervalMs;
    }
    await new Promise((r) => setTimeout(r, Math.min(OOM_CHECK_MS, intervalMs)));
  }
}
