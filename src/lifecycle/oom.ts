// OOM kills in a container's memory cgroup, counted by the kernel (v1 memory.oom_control, v2
// memory.events: the `oom_kill` line), and told as they happen where the kernel can notify:
// cgroup v2 signals a change of memory.events through inotify (fs.watch). cgroup v1 notifies only
// through an eventfd registered in cgroup.event_control, which Node cannot create; there the count
// is read again whenever the caller asks (at each stats tick and when the container exits).
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

/** Kernel OOM kills counted for the cgroup (0 when the memory controller is missing). */
export function oomKills(cgroupPaths: Record<string, string>): number {
  for (const file of oomFiles(cgroupPaths)) {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(file, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // controller missing: no OOM information
    }
  }
  return 0;
}

function oomFiles(cgroupPaths: Record<string, string>): string[] {
  return [
    cgroupPaths.memory && join(cgroupPaths.memory, 'memory.oom_control'),
    cgroupPaths[''] !== undefined && join(cgroupPaths[''], 'memory.events'),
  ].filter(Boolean) as string[];
}

export interface OomWatch {
  /** Read the counter now; calls onOom once per new kill. */
  check(): void;
  close(): void;
  /** Whether the kernel tells us (v2) or only check() finds out (v1). */
  readonly notified: boolean;
}

export function watchOom(cgroupPaths: Record<string, string>, onOom: () => void): OomWatch {
  let seen = oomKills(cgroupPaths);
  const check = () => {
    const now = oomKills(cgroupPaths);
    for (; seen < now; seen++) onOom();
  };
  let watcher: FSWatcher | undefined;
  if (cgroupPaths[''] !== undefined) {
    try {
      watcher = watch(join(cgroupPaths[''], 'memory.events'), { persistent: false }, check);
      watcher.on('error', () => watcher?.close());
    } catch {
      watcher = undefined;
    }
  }
  return { check, close: () => watcher?.close(), notified: watcher !== undefined };
}
