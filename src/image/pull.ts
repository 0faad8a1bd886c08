// `runt image pull`: manifest (through an index when there is one), config and layers into the
// store, every one checked by digest, layers fetched in parallel, then unpacked into snapshots.
import { imageError, ImageError } from './errors.js';
import { sha256 } from './digest.js';
import { fetchBlob } from './fetch-blob.js';
import {
  ACCEPT_MANIFESTS,
  INDEX_TYPES,
  MT,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type Manifest,
  type Platform,
} from './media-types.js';
import { formatPlatform, hostPlatform, selectManifest } from './platform.js';
import { formatReference, parseReference } from './reference.js';
import { RegistryClient, type RegistryOptions } from './registry.js';
import { ensureSnapshots } from './snapshots.js';
import type { ImageStore } from './store.js';
import { DEFAULT_LIMITS, type UnpackLimits } from './limits.js';
import { credentialsFor, type CredentialOptions } from './credentials.js';

export type PullEvent =
  | { event: 'resolved'; ref: string; digest: string; platform: string; layers: number; bytes: number }
  | { event: 'layer'; digest: string; status: 'cached' | 'fetching' | 'fetched' | 'resumed'; bytes: number; total: number }
  | { event: 'progress'; digest: string; bytes: number; total: number }
  | { event: 'unpacked'; digest: string; usec: number; cached: boolean }
  | { event: 'done'; ref: string; digest: string; usec: number };

export interface PullOptions extends CredentialOptions, Pick<RegistryOptions, 'insecure' | 'timeoutMs'> {
  platform?: Platform;
  onProgress?: (e: PullEvent) => void;
  limits?: UnpackLimits;
  /** Layers downloaded at once (default 3, as dockerd's and containerd's max-concurrent-downloads;
   *  skopeo takes 6). From 4 on, Node's socket reads left the pull's peak RSS growing with the
   *  layers' size here (+7 MB at 200 MB, +14 at 600 MB, bench/images.ts), with no gain in MiB/s
   *  from a loopback registry on 2 CPUs. */
  concurrency?: number;
  /** Unpack into snapshots right away (default true). */
  unpack?: boolean;
}

export interface PulledImage {
  name: string;
  digest: string;
  manifest: Manifest;
  config: ImageConfig;
}

export function parseManifest(body: Buffer, what: string): Manifest | ImageIndex {
  let j: Manifest & ImageIndex;
  try {
    j = JSON.parse(body.toString('utf8')) as Manifest & ImageIndex;
  } catch {
    throw imageError.registry(what, 'manifest is not valid JSON');
  }
  if (j.schemaVersion !== 2)
    throw imageError.unsupported(`${what}: manifest schema version ${String(j.schemaVersion)} (only 2: OCI and Docker schema 2)`);
  return j;
}

export function isIndex(m: Manifest | ImageIndex, mediaType: string): m is ImageIndex {
  return INDEX_TYPES.includes(m.mediaType ?? mediaType) || (Array.isArray((m as ImageIndex).manifests) && !(m as Manifest).config);
}

export async function pullImage(store: ImageStore, refText: string, opts: PullOptions = {}): Promise<PulledImage> {
  const started = process.hrtime.bigint();
  const ref = parseReference(refText);
  const name = formatReference(ref);
  const client = new RegistryClient(ref, {
    insecure: opts.insecure,
    timeoutMs: opts.timeoutMs,
    credentials: credentialsFor(ref.domain, opts),
  });
  const emit = opts.onProgress ?? (() => {});
  const lock = await store.lock('shared');
  try {
    const platform = opts.platform ?? hostPlatform();
    let { body, mediaType, digestHeader } = await client.getManifest(ref.digest ?? (ref.tag as string), ACCEPT_MANIFESTS);
    let digest = sha256(body);
    if (ref.digest && digest !== ref.digest) throw imageError.digest(`manifest of ${name}`, ref.digest, digest);
    if (!ref.digest && digestHeader?.startsWith('sha256:') && digestHeader !== digest)
      throw imageError.digest(`manifest of ${name}`, digestHeader, digest);
    let m = parseManifest(body, name);
    if (isIndex(m, mediaType)) {
      const chosen = selectManifest(m.manifests, platform, name);
      ({ body, mediaType } = await client.getManifest(chosen.digest, ACCEPT_MANIFESTS));
      digest = sha256(body);
      if (digest !== chosen.digest) throw imageError.digest(`manifest of ${name} for ${formatPlatform(platform)}`, chosen.digest, digest);
      m = parseManifest(body, name);
      if (isIndex(m, mediaType)) throw imageError.unsupported(`${name}: an index inside an index`);
    }
    const manifest = m as Manifest;
    const manifestType = manifest.mediaType ?? mediaType ?? MT.ociManifest;
    if (!manifest.config?.digest || !Array.isArray(manifest.layers)) throw imageError.registry(name, 'manifest has no config or layers');
    for (const l of manifest.layers) {
      if (!/^sha256:[a-f0-9]{64}$/.test(l.digest)) throw imageError.unsupported(`${name}: layer digest "${l.digest}" (only sha256)`);
    }
    emit({
      event: 'resolved',
      ref: name,
      digest,
      platform: formatPlatform(platform),
      layers: manifest.layers.length,
      bytes: manifest.layers.reduce((n, l) => n + l.size, 0),
    });

    // The config comes first in the same pool as the layers, not one round trip ahead of them: it
    // is checked against the manifest before anything is unpacked or named; a layer fetched meanwhile
    // is a whole, verified blob either way (an unnamed one goes at the next prune).
    let configChecked: ImageConfig | undefined;
    const checkConfig = (): ImageConfig => {
      if (configChecked) return configChecked;
      const config = store.readJsonBlob<ImageConfig>(manifest.config.digest);
      if (!config.rootfs || !Array.isArray(config.rootfs.diff_ids)) throw imageError.registry(name, 'image config has no rootfs.diff_ids');
      if (config.rootfs.diff_ids.length !== manifest.layers.length)
        throw imageError.registry(
          name,
          `manifest lists ${manifest.layers.length} layers, config ${config.rootfs.diff_ids.length} diff_ids`,
        );
      return (configChecked = config);
    };
    await inParallel([manifest.config, ...manifest.layers], opts.concurrency ?? 3, async (layer) => {
      if (layer === manifest.config) {
        await fetchBlob(client, store, manifest.config);
        checkConfig();
        return;
      }
      emit({
        event: 'layer',
        digest: layer.digest,
        status: store.hasBlob(layer.digest) ? 'cached' : 'fetching',
        bytes: 0,
        total: layer.size,
      });
      const how = await fetchBlob(client, store, layer, (bytes, total) => emit({ event: 'progress', digest: layer.digest, bytes, total }));
      if (how !== 'cached') emit({ event: 'layer', digest: layer.digest, status: how, bytes: layer.size, total: layer.size });
    });
    const config = checkConfig();
    if (opts.unpack !== false) {
      await ensureSnapshots(store, manifest.layers, config.rootfs.diff_ids, opts.limits ?? DEFAULT_LIMITS, (l, usec, cached) =>
        emit({ event: 'unpacked', digest: l.digest, usec, cached }),
      );
    }
    store.putBlob(body, digest);
    const desc: Descriptor = {
      mediaType: manifestType,
      digest,
      size: body.length,
      annotations: { 'org.opencontainers.image.platform': formatPlatform(platform) },
    };
    store.tag(name, desc);
    emit({ event: 'done', ref: name, digest, usec: Number((process.hrtime.bigint() - started) / 1000n) });
    return { name, digest, manifest, config };
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw imageError.registry(name, (e as Error).message);
  } finally {
    lock.release();
    client.close();
  }
}

/** fn over items with at most `n` running at once; the first failure rejects (the rest finish first). */
export async function inParallel<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && failure === undefined) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  if (failure !== undefined) throw failure;
}
