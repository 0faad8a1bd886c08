// Layer directories (overlayfs format) merged into one plain tree, bottom first: the rootfs of
// `runt image bundle` and of a container where overlayfs cannot be used. Hard links inside a layer
// stay hard links; whiteouts remove, opaque directories start empty.
import { chmodSync, lchownSync, lstatSync, linkSync, mkdirSync, readFileSync, readdirSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';
import { isOpaque, isWhiteout } from './overlay-view.js';
import { copyNode, setTimesFrom } from './unpack.js';

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

function dirMeta(from: string, to: string, st: Stats): void {
  lchownSync(to, st.uid, st.gid);
  chmodSync(to, st.mode & 0o7777);
  for (const name of native().llistxattr(from)) {
    if (name.startsWith('trusted.overlay.')) continue;
    const v = native().lgetxattr(from, name);
    if (v) native().lsetxattr(to, name, v);
  }
}

/** Files a snapshot copied up from a lower layer to hard-link to them (its meta.json). */
function copiedUp(layer: string): string[] {
  try {
    return (JSON.parse(readFileSync(join(layer, '..', 'meta.json'), 'utf8')) as { copiedUp?: string[] }).copiedUp ?? [];
  } catch {
    return [];
  }
}

/** Merges `layers` (bottom first) into `dest`, an existing empty directory. */
export function flattenLayers(layers: string[], dest: string): void {
  for (const layer of layers) {
    const links = new Map<string, string>(); // dev:ino → first copy in dest (hard links of this layer)
    // A hard link a layer made to a lower layer's file: in one tree it joins the file already
    // there (with its other links), as a flat unpack (umoci, tar) makes it.
    const keep = new Set<string>();
    for (const rel of copiedUp(layer)) {
      const there = lstatOrNull(join(dest, rel));
      if (!there?.isFile()) continue;
      const st = lstatSync(join(layer, rel));
      links.set(`${st.dev}:${st.ino}`, join(dest, rel));
      keep.add(join(dest, rel));
    }
    const times: Array<[string, string]> = [];
    const walk = (src: string, dst: string) => {
      for (const name of readdirSync(src)) {
        const s = join(src, name);
        const d = join(dst, name);
        const st = lstatSync(s);
        const here = lstatOrNull(d);
        if (isWhiteout(st)) {
          if (here) rmSync(d, { recursive: true, force: true });
          continue;
        }
        if (st.isDirectory()) {
          if (here && (!here.isDirectory() || isOpaque(s))) rmSync(d, { recursive: true, force: true });
          if (!here || !here.isDirectory() || isOpaque(s)) mkdirSync(d, { mode: 0o700 });
          dirMeta(s, d, st);
          walk(s, d);
          times.push([s, d]);
          continue;
        }
        if (keep.has(d)) continue;
        if (here) rmSync(d, { recursive: true, force: true });
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1 ? links.get(key) : undefined;
        if (first) {
          linkSync(first, d);
          continue;
        }
        copyNode(s, d, st);
        if (st.nlink > 1) links.set(key, d);
      }
    };
    walk(layer, dest);
    for (const [s, d] of times.reverse()) setTimesFrom(s, d);
    setTimesFrom(layer, dest);
  }
}
