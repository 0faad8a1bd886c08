// The images of one store as the library offers them (`rt.images`): pull, list, inspect, remove,
// prune, bundle. The CLI's `runt image …` commands call these.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chainIds } from './digest.js';
import { imageError } from './errors.js';
import { flattenLayers } from './flatten.js';
import { getLocal, localName, type LocalImage } from './local.js';
import { pullImage, type PullOptions, type PulledImage } from './pull.js';
import type { PushOptions } from './push.js';
// Loaded when used: archive.js brings the decompressors (zlib, fzstd), ~3 ms of every pull's start.
import type { ArchiveFormat, ImportOptions } from './archive.js';
import { holdImage, snapshotDirs } from './prepare.js';
import { imageToSpec } from './convert.js';
import { readImageFile } from './image-files.js';
import { snapshotBytes } from './snapshots.js';
import { collectGarbage, type GcResult } from './gc.js';
import { DEFAULT_STORE, ImageStore, REF_NAME } from './store.js';

export interface ImageSummary {
  name: string;
  digest: string;
  /** Compressed size: manifest, config and layers as stored. */
  size: number;
  /** Bytes of file content once unpacked. */
  unpackedSize: number;
  layers: number;
  created?: string;
  platform?: string;
}

export class ImageService {
  readonly store: ImageStore;

  constructor(dir: string = DEFAULT_STORE) {
    this.store = new ImageStore(dir);
  }

  pull(ref: string, opts: PullOptions = {}): Promise<PulledImage> {
    this.store.init();
    return pullImage(this.store, ref, opts);
  }

  list(): ImageSummary[] {
    const out: ImageSummary[] = [];
    for (const d of this.store.index().manifests) {
      const name = d.annotations?.[REF_NAME];
      if (!name) continue;
      try {
        const img = getLocal(this.store, name);
        out.push(this.summary(img));
      } catch {
        // a broken entry is not listed
      }
    }
    return out;
  }

  private summary(img: LocalImage): ImageSummary {
    const size = img.descriptor.size + img.manifest.config.size + img.manifest.layers.reduce((n, l) => n + l.size, 0);
    const unpackedSize = chainIds(img.config.rootfs.diff_ids).reduce((n, c) => n + snapshotBytes(this.store, c), 0);
    return {
      name: img.name,
      digest: img.descriptor.digest,
      size,
      unpackedSize,
      layers: img.manifest.layers.length,
      created: img.config.created,
      platform: img.descriptor.annotations?.['org.opencontainers.image.platform'],
    };
  }

  inspect(ref: string): LocalImage & { summary: ImageSummary } {
    const img = getLocal(this.store, ref);
    return { ...img, summary: this.summary(img) };
  }

  /** Untags the image and removes the blobs and snapshots nothing else uses. */
  async remove(ref: string): Promise<GcResult> {
    const lock = await this.store.lock();
    try {
      const img = getLocal(this.store, ref);
      const name = img.name;
      if (!this.store.untag(name)) throw imageError.notFound(ref, `in the store ${this.store.dir}`);
      return collectGarbage(this.store);
    } finally {
      lock.release();
    }
  }

  /** Removes unreferenced blobs and snapshots and interrupted downloads. */
  async prune(): Promise<GcResult> {
    const lock = await this.store.lock();
    try {
      return collectGarbage(this.store, true);
    } finally {
      lock.release();
    }
  }

  /** A plain OCI bundle (rootfs copied, config.json) any runtime can run. */
  async bundle(
    ref: string,
    dir: string,
    opts: { args?: string[]; entrypoint?: string[]; pull?: 'missing' | 'never' | 'always'; pullOptions?: PullOptions } = {},
  ): Promise<string> {
    const held = await holdImage(this.store, { image: ref, pull: opts.pull, pullOptions: opts.pullOptions });
    try {
      return this.bundleHeld(held.image, dir, opts);
    } finally {
      held.release();
    }
  }

  private bundleHeld(img: LocalImage, dir: string, opts: { args?: string[]; entrypoint?: string[] }): string {
    const bundle = resolve(dir);
    const rootfs = join(bundle, 'rootfs');
    if (existsSync(join(bundle, 'config.json')) || (existsSync(rootfs) && readdirSync(rootfs).length)) {
      throw imageError.store(`${bundle} already holds a bundle: give an empty or new directory`);
    }
    mkdirSync(rootfs, { recursive: true, mode: 0o755 });
    const layers = snapshotDirs(this.store, img);
    flattenLayers(layers, rootfs);
    const topFirst = [...layers].reverse();
    const { spec } = imageToSpec(img.config, {
      name: img.name,
      digest: img.descriptor.digest,
      args: opts.args,
      entrypoint: opts.entrypoint,
      rootfs: 'rootfs',
      passwd: readImageFile(topFirst, '/etc/passwd'),
      group: readImageFile(topFirst, '/etc/group'),
    });
    writeFileSync(join(bundle, 'config.json'), `${JSON.stringify(spec, null, 2)}\n`);
    return bundle;
  }

  /** Pushes a stored image to a registry (`source` defaults to the destination's own name). */
  async push(dest: string, source?: string, opts: PushOptions = {}): Promise<string> {
    const { pushImage } = await import('./push.js');
    return pushImage(this.store, dest, source ?? dest, opts);
  }

  async importArchive(file: string, opts: ImportOptions = {}): Promise<string[]> {
    const { importArchive } = await import('./archive.js');
    return importArchive(this.store, file, opts);
  }

  async exportArchive(ref: string, file: string, format: ArchiveFormat = 'oci-archive'): Promise<void> {
    const { exportArchive } = await import('./archive.js');
    return exportArchive(this.store, ref, file, format);
  }

  /** The full name a reference is stored under (docker.io/library/busybox:latest). */
  static normalise(ref: string): string {
    return localName(ref);
  }
}
