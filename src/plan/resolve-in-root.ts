// Where a path of the container lands once the image's symlinks are followed, the way runt-init's
// openat2(RESOLVE_IN_ROOT) will follow them: absolute links start again at the rootfs, `..` stops
// at it. Used by the planner to refuse destinations that only look harmless (`/x -> /`).
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

const MAX_LINKS = 40; // the kernel's limit for one lookup

/** The in-root absolute path `path` resolves to; components that do not exist (yet) are kept as
 *  written. Undefined when the links loop. */
export function resolveInRoot(rootfs: string, path: string): string | undefined {
  const done: string[] = [];
  const todo = path.split('/').filter(Boolean).reverse();
  let links = 0;
  while (todo.length) {
    const name = todo.pop()!;
    if (name === '.') continue;
    if (name === '..') {
      done.pop();
      continue;
    }
    let target: string | undefined;
    try {
      if (lstatSync(join(rootfs, ...done, name)).isSymbolicLink()) target = readlinkSync(join(rootfs, ...done, name));
    } catch {
      // missing (or unreadable): the rest is taken as written
    }
    if (target === undefined) {
      done.push(name);
      continue;
    }
    if (++links > MAX_LINKS) return undefined;
    if (target.startsWith('/')) done.length = 0;
    todo.push(...target.split('/').filter(Boolean).reverse());
  }
  return `/${done.join('/')}`;
}
