// Garbage collection: blobs and snapshots no image in index.json and no container still uses.
import { readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chainIds, hexOf } from './digest.js';
import type { ImageConfig, Manifest } from './media-types.js';
import { listSnapshots } from './snapshots.js';
import type { ImageStore } from './store.js';

export interface GcResult {
  blobs: number;
  snapshots: number;
  bytes: number;
}

/** Call with the store lock held. `partials`: also drop interrupted downloads. */
export function collectGarbage(store: ImageStore, partials = false): GcResult {
  const keepBlobs = new Set<string>();
  const keepSnaps = new Set<string>();
  for (const d of store.index().manifests) {
    keepBlobs.add(d.digest);
    try {
      const m = store.readJsonBlob<Manifest>(d.digest);
      keepBlobs.add(m.config.digest);
      for (const l of m.layers) keepBlobs.add(l.digest);
      const c = store.readJsonBlob<ImageConfig>(m.config.digest);
      for (const id of chainIds(c.rootfs.diff_ids)) keepSnaps.add(id);
    } catch {
      // a broken entry keeps what it names, nothing more
    }
  }
  let containers: string[] = [];
  try {
    containers = readdirSync(store.containersDir);
  } catch {
    // none
  }
  for (const c of containers) {
    try {
      const meta = JSON.parse(readFileSync(join(store.containersDir, c, 'image.json'), 'utf8')) as { chainIds: string[] };
      for (const id of meta.chainIds) keepSnaps.add(id);
    } catch {
      // being created: its snapshots belong to an image that is still named
    }
  }
  const out: GcResult = { blobs: 0, snapshots: 0, bytes: 0 };
  for (const d of store.blobDigests()) {
    if (keepBlobs.has(d)) continue;
    out.bytes += store.blobSize(d);
    rmSync(store.blobPath(d), { force: true });
    out.blobs++;
  }
  for (const s of listSnapshots(store)) {
    if (keepSnaps.has(s)) continue;
    // Renamed away first: a half-removed snapshot is never mistaken for a whole one.
    const gone = store.tempPath(`gc-${hexOf(s).slice(0, 12)}`);
    try {
      renameSync(join(store.snapshotsDir, hexOf(s)), gone);
      rmSync(gone, { recursive: true, force: true });
      out.snapshots++;
    } catch {
      // already gone
    }
  }
  if (partials) {
    for (const f of readdirSync(store.tmpDir)) rmSync(join(store.tmpDir, f), { recursive: true, force: true });
  }
  return out;
}
