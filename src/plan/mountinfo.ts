// Which mount a path lives on, as /proc/self/mountinfo shows it: the planner needs the mount the
// container's root is bound on top of (pivot_root refuses a new root whose parent mount is shared).
import { readFileSync, realpathSync } from 'node:fs';

export interface MountOfPath {
  /** Mount point of the mount holding the path (the longest mount point that is the path or a parent of it). */
  mountPoint: string;
  /** The mount has shared propagation ("shared:N" among its optional fields). */
  shared: boolean;
}

/** Undoes mountinfo's octal escapes (\040 for a space, \011, \012, \134). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The mount holding `path` in the caller's mount namespace; undefined when mountinfo is unreadable. */
export function mountOfPath(path: string, mountinfo = '/proc/self/mountinfo'): MountOfPath | undefined {
  let text: string;
  let real = path;
  try {
    text = readFileSync(mountinfo, 'utf8');
  } catch {
    return undefined;
  }
  try {
    real = realpathSync(path);
  } catch {
    // A rootfs that does not exist yet (explain): its path as given.
  }
  let best: MountOfPath | undefined;
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 7) continue;
    const mountPoint = unescape(fields[4]);
    const inside = mountPoint === '/' || real === mountPoint || real.startsWith(`${mountPoint}/`);
    // Later lines are mounted later: on the same mount point the last one is on top.
    if (inside && (!best || mountPoint.length >= best.mountPoint.length)) {
      const dash = fields.indexOf('-');
      const optional = fields.slice(6, dash < 0 ? undefined : dash);
      best = { mountPoint, shared: optional.some((o) => o.startsWith('shared:')) };
    }
  }
  return best;
}
