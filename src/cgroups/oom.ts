// OOM kills in a container's memory cgroup, told as they happen. cgroup v1: an eventfd registered
// for memory.oom_control in cgroup.event_control (as runc does); each read of it is the number of
// OOM notifications since the last one. cgroup v2: memory.events changes are notified through
// inotify (fs.watch) and its `oom_kill` count tells the kills. check() reads what is pending at once
// (callers use it right before the exit event, whose pidfd may be seen first).
import { closeSync, existsSync, openSync, readFileSync, readSync, watch, writeFileSync, writeSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';
import { type CgroupPaths, v1Dir, v2Dir } from './paths.js';

/** Kernel OOM kills counted for the cgroup (0 when the memory controller is missing). */
export function oomKills(cgroupPaths: CgroupPaths): number {
  const memory = v1Dir(cgroupPaths, 'memory');
  const v2 = v2Dir(cgroupPaths);
  const files = [memory !== undefined && join(memory, 'memory.oom_control'), v2 !== undefined && join(v2, 'memory.events')].filter(
    Boolean,
  ) as string[];
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

export interface OomWatch {
  /** Report what is pending now (onOom once per OOM). */
  check(): void;
  close(): void;
}

export function watchOom(cgroupPaths: CgroupPaths, onOom: () => void): OomWatch {
  const memory = v1Dir(cgroupPaths, 'memory');
  if (memory) {
    const v1 = watchOomControl(memory, onOom);
    if (v1) return v1;
  }
  // v2 (or a v1 cgroup that refused the eventfd): compare the kernel's kill counter.
  let seen = oomKills(cgroupPaths);
  const check = () => {
    const now = oomKills(cgroupPaths);
    for (; seen < now; seen++) onOom();
  };
  let watcher: FSWatcher | undefined;
  const v2 = v2Dir(cgroupPaths);
  if (v2 !== undefined) {
    try {
      watcher = watch(join(v2, 'memory.events'), { persistent: false }, check);
      watcher.on('error', () => watcher?.close());
    } catch {
      watcher = undefined;
    }
  }
  return { check, close: () => watcher?.close() };
}

/** cgroup v1 memory.oom_control notifications through an eventfd; null when it cannot be registered. */
function watchOomControl(dir: string, onOom: () => void): OomWatch | null {
  const n = native();
  let efd = -1;
  try {
    efd = n.eventfd();
    const control = openSync(join(dir, 'memory.oom_control'), 'r');
    try {
      writeFileSync(join(dir, 'cgroup.event_control'), `${efd} ${control}`);
    } finally {
      closeSync(control);
    }
  } catch {
    if (efd >= 0) n.close(efd);
    return null;
  }
  let closed = false;
  let gone = false;
  let open = true;
  const counter = Buffer.alloc(8);
  // The kernel also signals the eventfd when the cgroup is removed: that is no OOM.
  const drain = () => {
    if (closed || gone) return;
    let count = 0n;
    try {
      if (readSync(efd, counter) === 8) count = counter.readBigUInt64LE();
    } catch {
      return; // EAGAIN: nothing pending
    }
    if (!existsSync(join(dir, 'cgroup.event_control'))) {
      gone = true;
      return;
    }
    for (let i = 0n; i < count; i++) onOom();
  };
  void (async () => {
    while (!closed && !gone) {
      await n.whenReadable(efd);
      drain();
    }
    n.close(efd);
    open = false;
  })();
  return {
    check: drain,
    // Wake the pending wait by signalling the eventfd ourselves; the loop then closes it.
    close: () => {
      if (closed) return;
      closed = true;
      if (!open) return;
      const one = Buffer.alloc(8);
      one.writeBigUInt64LE(1n);
      try {
        writeSync(efd, one);
      } catch {
        /* already counted up: readable anyway */
      }
    },
  };
}
