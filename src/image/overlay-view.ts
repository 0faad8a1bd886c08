// The merged view of a stack of layer directories in overlayfs format (the top one first), as
// the kernel would show it: 0:0 character devices are whiteouts, `trusted.overlay.opaque=y` hides
// what lower directories hold. Unpacking reads it to resolve paths the way the layer would see the
// image so far; it never follows a symlink out of the root.
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';

export const OPAQUE_XATTR = 'trusted.overlay.opaque';

export interface Found {
  /** Index into the layer list (0: the top). */
  layer: number;
  path: string;
  stat: Stats;
}

export function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export function isOpaque(path: string): boolean {
  try {
    return native().lgetxattr(path, OPAQUE_XATTR)?.toString() === 'y';
  } catch {
    return false;
  }
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

export class OverlayView {
  constructor(readonly layers: string[]) {}

  /** What the merged tree shows at comps (no symlink followed), or null. */
  lookup(comps: string[]): Found | null {
    let active = this.layers.map((_, i) => i);
    let found: Found | null = null;
    for (let depth = 0; depth < comps.length; depth++) {
      const rel = comps.slice(0, depth + 1).join('/');
      found = null;
      const next: number[] = [];
      for (const i of active) {
        const path = join(this.layers[i], rel);
        const st = lstatOrNull(path);
        if (!st) continue;
        if (isWhiteout(st)) break;
        if (!found) found = { layer: i, path, stat: st };
        if (!st.isDirectory()) break;
        if (!found.stat.isDirectory()) break;
        next.push(i);
        if (isOpaque(path)) break;
      }
      if (!found) return null;
      if (depth < comps.length - 1 && !found.stat.isDirectory()) return null;
      active = next;
    }
    return found;
  }

  /** comps with every symlink resolved inside the root (the last one too when followLast):
   *  absolute targets start again at the root, `..` stops at the root. */
  resolve(comps: string[], followLast: boolean): string[] {
    let out: string[] = [];
    const queue = [...comps];
    let links = 0;
    while (queue.length) {
      const c = queue.shift() as string;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        out.pop();
        continue;
      }
      const cand = [...out, c];
      const found = this.lookup(cand);
      if (found?.stat.isSymbolicLink() && (queue.length > 0 || followLast)) {
        if (++links > 40) throw new Error(`too many levels of symbolic links at /${cand.join('/')}`);
        const target = readlinkSync(found.path, { encoding: 'buffer' }).toString('utf8');
        if (target.startsWith('/')) out = [];
        queue.unshift(...target.split('/'));
        continue;
      }
      out.push(c);
    }
    return out;
  }
}
