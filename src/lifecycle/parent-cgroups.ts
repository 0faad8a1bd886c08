// The default cgroup path `/runt/<id>` makes a `runt` parent in every hierarchy, which the last
// container out removes. For a process running one container at a time that meant removing the
// parents with each container and making them again for the next (10 hierarchies, the cpuset filled
// in): ≈ 0.9 ms a container. A Runtime therefore removes them once it has deleted no container for
// a second, and when the process exits (rmdir fails harmlessly while any container is in them).
import { rmdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';

const IDLE_MS = 1000;

export class ParentCgroups {
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  /** A container made with the default path was deleted: its parents may go. */
  released(paths: Record<string, string>): void {
    for (const p of defaultParents(paths)) this.pending.add(p);
    if (this.pending.size === 0) return;
    if (this.timer) {
      this.timer.refresh();
    } else {
      this.timer = setTimeout(() => this.flush(), IDLE_MS).unref();
      atExit(this);
    }
  }

  /** Remove the pending parents now. */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    removeParents(this.pending);
    this.pending.clear();
    waiting.delete(this);
  }
}

/** The `runt` parents of a container's cgroup directories. */
function defaultParents(paths: Record<string, string>): string[] {
  return Object.values(paths)
    .map(dirname)
    .filter((p) => basename(p) === 'runt');
}

export function removeParents(parents: Iterable<string>): void {
  for (const p of parents) {
    try {
      rmdirSync(p);
    } catch {
      // not empty, or already gone
    }
  }
}

/** Removes the given parents right away (a process that deletes one container and exits). */
export function removeDefaultParents(paths: Record<string, string>): void {
  removeParents(defaultParents(paths));
}

// One 'exit' listener for every Runtime with parents still to remove.
const waiting = new Set<ParentCgroups>();
let listening = false;
function atExit(p: ParentCgroups): void {
  waiting.add(p);
  if (listening) return;
  listening = true;
  process.once('exit', () => {
    for (const w of [...waiting]) w.flush();
  });
}
