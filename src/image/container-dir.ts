// A container made from an image lives in <store>/containers/<id>: config.json, an empty rootfs
// (the overlay's mount point, or a full copy where overlayfs is unavailable), its upper and work
// directories and its anonymous volumes. Only this directory is removed with the container.
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../spec/types.js';

export const OVERLAY_ANNOTATION = 'org.runt.image.overlay';
export const CONTAINER_DIR_ANNOTATION = 'org.runt.image.container-dir';
/** Written first: what image the container is of (for GC), and runt's mark on the directory. */
export const MARKER = 'image.json';

export interface OverlayRootfs {
  /** Snapshot directories, the top layer first. */
  lower: string[];
  upper: string;
  work: string;
}

export function overlayAvailable(): boolean {
  try {
    return /\toverlay\n/.test(readFileSync('/proc/filesystems', 'utf8'));
  } catch {
    return false;
  }
}

export function makeContainerDir(dir: string, marker: string): void {
  mkdirSync(dir, { recursive: false, mode: 0o711 });
  writeFileSync(join(dir, MARKER), marker);
  for (const d of ['rootfs', 'upper', 'work']) mkdirSync(join(dir, d), { mode: d === 'work' ? 0o700 : 0o755 });
}

/** Removes the directory of a container made from an image, if this spec says there is one and the
 *  directory carries runt's marker (a config.json cannot make runt remove anything else). */
export function removeContainerDir(spec: Spec | undefined): void {
  const dir = spec?.annotations?.[CONTAINER_DIR_ANNOTATION];
  if (!dir || !existsSync(join(dir, MARKER))) return;
  // What an overlay container leaves is known and mostly empty: removed entry by entry (a few
  // syscalls); anything else (a copied rootfs, files in upper, volumes) by a recursive rmSync.
  for (const d of ['rootfs', 'upper', 'work/work', 'work/index', 'work', 'volumes']) removeDir(join(dir, d));
  for (const f of ['config.json', MARKER]) rmSync(join(dir, f), { force: true });
  removeDir(dir);
}

function removeDir(path: string): void {
  try {
    rmdirSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') rmSync(path, { recursive: true, force: true });
  }
}
