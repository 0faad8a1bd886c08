// Directories a run made under shared places (/run/containerd and the like): removed afterwards as
// far as they are empty, so that whatever holds a file (someone else's, or a leak) stays and shows.
import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';

/** Each of `dirs` and the directories below it, deepest first, as far as they are empty. */
export function removeEmptyTrees(dirs: string[]): void {
  const remove = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) remove(join(d, e.name));
    try {
      rmdirSync(d);
    } catch {
      /* not empty */
    }
  };
  dirs.forEach(remove);
}

/** removeEmptyTrees, tried again for a few seconds while one of `dirs` stays: a shim killed or
 *  exiting a moment ago may still be removing its socket. */
export async function removeEmptyTreesPatiently(dirs: string[], rounds = 50): Promise<void> {
  removeEmptyTrees(dirs);
  for (let round = 0; round < rounds && dirs.some((d) => existsSync(d)); round++) {
    await new Promise((r) => setTimeout(r, 100));
    removeEmptyTrees(dirs);
  }
}
