// From an image name to a bundle runt can create: the image (pulled when missing), its snapshots,
// the container's own directory, and config.json converted from the image config.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../spec/types.js';
import { chainIds } from './digest.js';
import { imageError } from './errors.js';
import { readImageFile } from './image-files.js';
import { findLocal, type LocalImage } from './local.js';
import type { PullOptions } from './pull.js';
import { ensureSnapshots } from './snapshots.js';
import type { ImageStore } from './store.js';
import { imageToSpec, type Provenance } from './convert.js';
import {
  CONTAINER_DIR_ANNOTATION,
  MARKER,
  OVERLAY_ANNOTATION,
  makeContainerDir,
  overlayAvailable,
  removeContainerDir,
  type OverlayRootfs,
} from './container-dir.js';
import { DEFAULT_LIMITS } from './limits.js';

export interface ImageContainerOptions {
  /** Image reference (pulled when not in the store, unless pull is 'never'). */
  image: string;
  /** Replaces the image's Cmd. */
  args?: string[];
  /** Replaces the image's Entrypoint (and drops its Cmd), as `docker run --entrypoint` does. */
  entrypoint?: string[];
  env?: string[];
  pull?: 'missing' | 'never' | 'always';
  pullOptions?: PullOptions;
  terminal?: boolean;
  /** Copy the layers into a plain rootfs instead of mounting an overlay. */
  copy?: boolean;
  /** Times of the image stages (pull, unpack, rootfs) in microseconds. */
  onStage?: (stage: 'pull' | 'unpack' | 'rootfs', usec: number, detail: string) => void;
  /** The image's Volumes are left to the caller (rt.create makes them anonymous volumes of the
   *  store, filled from the image): listed in `imageVolumes`, not mounted by the config. */
  volumesByCaller?: boolean;
}

export interface PreparedContainer {
  bundle: string;
  spec: Spec;
  image: LocalImage;
  provenance: Provenance[];
  snapshots: string[];
  overlay?: OverlayRootfs;
  /** With volumesByCaller: the image's Volumes (destinations). */
  imageVolumes?: string[];
}

const since = (t: bigint) => Number((process.hrtime.bigint() - t) / 1000n);

/**
 * The image `o.image` names, pulled if missing and unpacked, with the store's lock held shared
 * until release(): a prune or rm (exclusive) waits for the unpack at first use and for the caller's
 * reads of the snapshots (a copy, or the container's image.json that keeps them from the GC), and
 * an unpack waits for a prune or rm in progress.
 */
export async function holdImage(
  store: ImageStore,
  o: Pick<ImageContainerOptions, 'image' | 'pull' | 'pullOptions' | 'onStage'>,
): Promise<{ image: LocalImage; release(): void }> {
  const lock = await store.lock('shared');
  try {
    let t = process.hrtime.bigint();
    let img = o.pull === 'always' ? undefined : findLocal(store, o.image);
    if (!img) {
      if (o.pull === 'never') throw imageError.notFound(o.image, `in the store ${store.dir}`);
      // The registry client (node:https and TLS among it) loads only when a pull is needed.
      const { pullImage } = await import('./pull.js');
      await pullImage(store, o.image, o.pullOptions);
      img = findLocal(store, o.image);
      if (!img) throw imageError.notFound(o.image, 'after pulling it');
      o.onStage?.('pull', since(t), img.name);
    }
    t = process.hrtime.bigint();
    await ensureSnapshots(store, img.manifest.layers, img.config.rootfs.diff_ids, o.pullOptions?.limits ?? DEFAULT_LIMITS);
    o.onStage?.('unpack', since(t), `${img.manifest.layers.length} layers`);
    if (img.config.os && img.config.os !== 'linux') throw imageError.unsupported(`image ${img.name} is for ${img.config.os}, not linux`);
    return { image: img, release: lock.release };
  } catch (e) {
    lock.release();
    throw e;
  }
}

/** The snapshot directories of an image, bottom layer first. */
export function snapshotDirs(store: ImageStore, img: LocalImage): string[] {
  return chainIds(img.config.rootfs.diff_ids).map((c) => join(store.snapshotsDir, c.slice(7), 'diff'));
}

/** The container's config and rootfs plan for an image in the store, with nothing written
 *  (what `explain --image` shows and prepareContainer carries out). */
export function planImageContainer(
  store: ImageStore,
  id: string,
  img: LocalImage,
  o: Omit<ImageContainerOptions, 'image'>,
): Omit<PreparedContainer, 'image'> & { volumes: string[] } {
  const layers = snapshotDirs(store, img);
  const topFirst = [...layers].reverse();
  const dir = join(store.containersDir, id);
  const volumes: string[] = [];
  const { spec, provenance } = imageToSpec(img.config, {
    name: img.name,
    digest: img.descriptor.digest,
    args: o.args,
    entrypoint: o.entrypoint,
    env: o.env,
    rootfs: join(dir, 'rootfs'),
    terminal: o.terminal,
    passwd: readImageFile(topFirst, '/etc/passwd'),
    group: readImageFile(topFirst, '/etc/group'),
    volumeDir: o.volumesByCaller
      ? undefined
      : (_dest, i) => {
          volumes.push(join(dir, 'volumes', String(i)));
          return volumes[volumes.length - 1];
        },
  });
  const imageVolumes = o.volumesByCaller ? Object.keys(img.config.config?.Volumes ?? {}) : undefined;
  spec.annotations = { ...spec.annotations, [CONTAINER_DIR_ANNOTATION]: dir };
  let overlay: OverlayRootfs | undefined;
  if (!o.copy && overlayAvailable()) {
    overlay = { lower: topFirst, upper: join(dir, 'upper'), work: join(dir, 'work') };
    spec.annotations[OVERLAY_ANNOTATION] = JSON.stringify(overlay);
  }
  return { bundle: dir, spec, provenance, snapshots: layers, overlay, volumes, imageVolumes };
}

export async function prepareContainer(store: ImageStore, id: string, o: ImageContainerOptions): Promise<PreparedContainer> {
  const held = await holdImage(store, o);
  try {
    return await prepareHeld(store, id, held.image, o);
  } finally {
    // image.json is written (or the directory gone): the GC keeps what the container uses.
    held.release();
  }
}

async function prepareHeld(store: ImageStore, id: string, img: LocalImage, o: ImageContainerOptions): Promise<PreparedContainer> {
  const t = process.hrtime.bigint();
  const planned = planImageContainer(store, id, img, o);
  const dir = planned.bundle;
  if (existsSync(dir)) {
    // Left by a create that crashed before the container existed (the caller checked it does not).
    if (!existsSync(join(dir, MARKER))) throw imageError.store(`${dir} exists and is not runt's`);
    removeContainerDir(spec_of(dir));
  }
  makeContainerDir(
    dir,
    JSON.stringify({ id, image: img.name, digest: img.descriptor.digest, chainIds: chainIds(img.config.rootfs.diff_ids) }),
  );
  try {
    for (const v of planned.volumes) mkdirSync(v, { recursive: true, mode: 0o755 });
    // The copy (and the unpacker's file code it uses) loads only where overlayfs is not used.
    if (!planned.overlay) (await import('./flatten.js')).flattenLayers(planned.snapshots, join(dir, 'rootfs'));
    o.onStage?.(
      'rootfs',
      since(t),
      planned.overlay ? `overlay of ${planned.snapshots.length} snapshots` : `copy of ${planned.snapshots.length} layers`,
    );
    writeFileSync(join(dir, 'config.json'), `${JSON.stringify(planned.spec, null, 2)}\n`);
    return { ...planned, image: img };
  } catch (e) {
    removeContainerDir(spec_of(dir));
    throw e;
  }
}

function spec_of(dir: string): Spec {
  return { ociVersion: '', annotations: { [CONTAINER_DIR_ANNOTATION]: dir } } as Spec;
}
