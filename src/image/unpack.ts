// Applies one layer (a tar stream) as a new overlayfs layer directory over the ones below it, by the
// rules of the image spec's layer.md: whiteouts become 0:0 character devices, opaque whiteouts the
// `trusted.overlay.opaque` xattr, hard links into lower layers copy the file up first. Every path is
// resolved inside the image (OverlayView.resolve): `..` is refused, symlinks — absolute ones and
// those a lower layer planted — are followed within the root, never out of it. The directory
// being written is runt's own until it is renamed into the store, so nothing else races the checks.
import {
  chmodSync,
  closeSync,
  constants as C,
  copyFileSync,
  linkSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';
import { OPAQUE_XATTR, OverlayView, isWhiteout } from './overlay-view.js';
import type { TarEntry, TarItem } from './tar.js';
import { readTar } from './tar.js';

import { DEFAULT_LIMITS, type UnpackLimits } from './limits.js';
export { DEFAULT_LIMITS, type UnpackLimits } from './limits.js';

const WH = '.wh.';
const OPQ = '.wh..wh..opq';

export class LayerRejected extends Error {}

/** Entry name → path components; `..` anywhere is refused (a layer has no business there). */
export function cleanName(name: string): string[] {
  const comps = name.split('/').filter((c) => c !== '' && c !== '.');
  if (comps.includes('..')) throw new LayerRejected(`entry "${name}" leaves the root (path traversal)`);
  return comps;
}

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

export interface UnpackStats {
  entries: number;
  bytes: number;
  /** Lower-layer files this layer copied up to hard-link to them (paths relative to the root). */
  copiedUp: string[];
}

/** Writes the layer into `dir` (empty, created by the caller) over `lowers` (top first). */
export async function applyLayer(
  tar: AsyncIterable<Buffer>,
  dir: string,
  lowers: string[],
  limits: UnpackLimits = DEFAULT_LIMITS,
): Promise<UnpackStats> {
  const view = new OverlayView([dir, ...lowers]);
  const dirTimes: Array<[string, TarEntry]> = [];
  const stats: UnpackStats = { entries: 0, bytes: 0, copiedUp: [] };
  const at = (comps: string[]) => join(dir, ...comps);

  /** Makes every directory of comps exist in `dir` (copying the lower one's owner and mode). */
  const ensureDirs = (comps: string[]) => {
    for (let i = 1; i <= comps.length; i++) {
      const p = comps.slice(0, i);
      const here = lstatOrNull(at(p));
      if (here?.isDirectory()) continue;
      const below = view.lookup(p);
      if (below && !below.stat.isDirectory()) throw new LayerRejected(`/${p.join('/')} is not a directory`);
      if (here) rmSync(at(p), { recursive: true, force: true });
      mkdirSync(at(p), { mode: 0o755 });
      if (below) {
        lchownSync(at(p), below.stat.uid, below.stat.gid);
        chmodSync(at(p), below.stat.mode & 0o7777);
        for (const name of native().llistxattr(below.path)) {
          const v = native().lgetxattr(below.path, name);
          if (v && name !== OPAQUE_XATTR) native().lsetxattr(at(p), name, v);
        }
      } else if (here && isWhiteout(here)) {
        native().lsetxattr(at(p), OPAQUE_XATTR, Buffer.from('y'));
      }
    }
  };

  /** The entry's place: its parent resolved inside the root, the last component as named. */
  const place = (comps: string[]) => {
    const parent = view.resolve(comps.slice(0, -1), true);
    ensureDirs(parent);
    return [...parent, comps[comps.length - 1]];
  };

  const setMeta = (path: string, e: TarEntry) => {
    lchownSync(path, e.uid, e.gid);
    if (e.type !== 'symlink') chmodSync(path, e.mode);
    for (const [name, value] of e.xattrs) {
      if (name.startsWith('trusted.overlay.')) continue; // would steer overlayfs: never from a layer
      native().lsetxattr(path, name, value);
    }
    if (e.type === 'dir') dirTimes.push([path, e]);
    else lutimesSync(path, usec(e.atime ?? e.mtime), usec(e.mtime));
  };

  for await (const item of readTar(tar) as AsyncGenerator<TarItem>) {
    const e = item.entry;
    if (++stats.entries > limits.maxEntries) throw new LayerRejected(`more than ${limits.maxEntries} entries`);
    const comps = cleanName(e.name);
    if (comps.length === 0) continue; // the root itself: its metadata stays runt's
    const base = comps[comps.length - 1];

    if (base === OPQ) {
      const target = view.resolve(comps.slice(0, -1), true);
      ensureDirs(target);
      if (target.length) native().lsetxattr(at(target), OPAQUE_XATTR, Buffer.from('y'));
      continue;
    }
    if (base.startsWith(WH)) {
      const real = base.slice(WH.length);
      if (!real || real === '.' || real === '..') throw new LayerRejected(`bad whiteout "${e.name}"`);
      const p = place([...comps.slice(0, -1), real]);
      const here = lstatOrNull(at(p));
      if (here) {
        // Whiteouts only hide lower layers: what this layer wrote at the same path stays, a directory made opaque.
        if (here.isDirectory()) native().lsetxattr(at(p), OPAQUE_XATTR, Buffer.from('y'));
        continue;
      }
      if (view.lookup(p)) native().mknod(at(p), C.S_IFCHR, 0, 0);
      continue;
    }

    const p = place(comps);
    const path = at(p);
    const here = lstatOrNull(path);
    if (e.type === 'dir') {
      if (here && !here.isDirectory()) rmSync(path, { recursive: true, force: true });
      if (!here || !here.isDirectory()) {
        mkdirSync(path, { mode: 0o700 });
        if (here && isWhiteout(here)) native().lsetxattr(path, OPAQUE_XATTR, Buffer.from('y'));
      }
      setMeta(path, e);
      continue;
    }
    if (here) rmSync(path, { recursive: true, force: true });
    switch (e.type) {
      case 'file': {
        const fd = openSync(path, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of item.body) {
            stats.bytes += chunk.length;
            if (stats.bytes > limits.maxBytes) throw new LayerRejected(`unpacks to more than ${limits.maxBytes} bytes (tar bomb?)`);
            let off = 0;
            while (off < chunk.length) off += writeSync(fd, chunk, off);
          }
        } finally {
          closeSync(fd);
        }
        break;
      }
      case 'symlink':
        symlinkSync(e.linkname, path);
        break;
      case 'link': {
        const tcomps = cleanName(e.linkname);
        if (tcomps.length === 0) throw new LayerRejected(`hard link "${e.name}" to the root`);
        const target = [...view.resolve(tcomps.slice(0, -1), true), tcomps[tcomps.length - 1]];
        const found = view.lookup(target);
        if (!found) throw new LayerRejected(`hard link "${e.name}" to "${e.linkname}", which does not exist in the image`);
        if (found.stat.isDirectory()) throw new LayerRejected(`hard link "${e.name}" to a directory`);
        if (found.layer !== 0) {
          copyUp(found.path, at(target), found.stat, ensureDirs, target);
          stats.copiedUp.push(target.join('/'));
        }
        linkSync(at(target), path);
        continue; // a hard link shares its target's metadata
      }
      case 'char':
      case 'block':
        native().mknod(path, (e.type === 'char' ? C.S_IFCHR : C.S_IFBLK) | (e.mode & 0o777), e.devmajor, e.devminor);
        break;
      case 'fifo':
        native().mknod(path, C.S_IFIFO | (e.mode & 0o777), 0, 0);
        break;
    }
    setMeta(path, e);
  }
  // Directories last: adding their entries changed their times.
  for (const [path, e] of dirTimes.reverse()) lutimesSync(path, usec(e.atime ?? e.mtime), usec(e.mtime));
  return stats;
}

/** Seconds with at most microseconds: pax times like 1.9999999999 must not round up a second. */
const usec = (t: number) => Math.floor(t * 1e6) / 1e6;

/** A lower layer's file copied into this layer (for a hard link to it), with its metadata. */
function copyUp(from: string, to: string, st: Stats, ensureDirs: (c: string[]) => void, comps: string[]): void {
  ensureDirs(comps.slice(0, -1));
  copyNode(from, to, st);
}

/** One non-directory node copied with owner, mode, xattrs and times. */
export function copyNode(from: string, to: string, st: Stats): void {
  if (st.isFile()) copyFileSync(from, to, C.COPYFILE_EXCL);
  else if (st.isSymbolicLink()) symlinkSync(readlinkSync(from, { encoding: 'buffer' }), to);
  else if (st.isCharacterDevice())
    native().mknod(to, C.S_IFCHR | (st.mode & 0o777), Math.floor(st.rdev / 256) & 0xfff, (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00));
  else if (st.isBlockDevice())
    native().mknod(to, C.S_IFBLK | (st.mode & 0o777), Math.floor(st.rdev / 256) & 0xfff, (st.rdev & 0xff) | ((st.rdev >> 12) & 0xfff00));
  else if (st.isFIFO()) native().mknod(to, C.S_IFIFO | (st.mode & 0o777), 0, 0);
  else throw new LayerRejected(`cannot copy ${from}: unsupported file type`);
  copyMeta(from, to, st);
}

export function copyMeta(from: string, to: string, st: Stats): void {
  lchownSync(to, st.uid, st.gid);
  if (!st.isSymbolicLink()) chmodSync(to, st.mode & 0o7777);
  for (const name of native().llistxattr(from)) {
    if (name.startsWith('trusted.overlay.')) continue;
    const v = native().lgetxattr(from, name);
    if (v) native().lsetxattr(to, name, v);
  }
  setTimesFrom(from, to);
}

/** to gets from's atime and mtime, to the microsecond (Stats' Date and ms values round). */
export function setTimesFrom(from: string, to: string): void {
  const b = lstatSync(from, { bigint: true });
  lutimesSync(to, Number(b.atimeNs / 1000n) / 1e6, Number(b.mtimeNs / 1000n) / 1e6);
}
