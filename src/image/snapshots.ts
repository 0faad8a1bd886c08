// Unpacked layers kept by chain ID (<store>/snapshots/<hex>/diff): the lower directories of every
// container of an image, shared by all images that have the same layers below.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chainIds, hexOf, newHash } from './digest.js';
import { imageError, ImageError } from './errors.js';
import { DEFAULT_LIMITS, type UnpackLimits } from './limits.js';
import type { ImageStore } from './store.js';
import type { Descriptor } from './media-types.js';

export interface Snapshot {
  chainId: string;
  /** The overlayfs lower directory. */
  dir: string;
}

export function snapshotDir(store: ImageStore, chainId: string): string {
  return join(store.snapshotsDir, hexOf(chainId), 'diff');
}

/** The snapshots of an image, bottom layer first, unpacking those not there yet. */
export async function ensureSnapshots(
  store: ImageStore,
  layers: Descriptor[],
  diffIds: string[],
  limits: UnpackLimits = DEFAULT_LIMITS,
  onLayer?: (layer: Descriptor, usec: number, cached: boolean) => void,
): Promise<Snapshot[]> {
  if (layers.length !== diffIds.length)
    throw imageError.store(`image has ${layers.length} layers but its config lists ${diffIds.length} diff_ids`);
  const chains = chainIds(diffIds);
  const out: Snapshot[] = [];
  for (let i = 0; i < layers.length; i++) {
    const dir = snapshotDir(store, chains[i]);
    const started = process.hrtime.bigint();
    const cached = existsSync(dir);
    if (!cached) await unpackSnapshot(store, layers[i], diffIds[i], chains[i], out.map((s) => s.dir).reverse(), limits);
    onLayer?.(layers[i], Number((process.hrtime.bigint() - started) / 1000n), cached);
    out.push({ chainId: chains[i], dir });
  }
  return out;
}

async function unpackSnapshot(
  store: ImageStore,
  layer: Descriptor,
  diffId: string,
  chainId: string,
  lowers: string[],
  limits: UnpackLimits,
): Promise<void> {
  // The unpacker and the decompressors (zlib, fzstd) load only when a layer is unpacked: a run of a
  // cached image does without them.
  const [{ openLayer }, { applyLayer, LayerRejected }, { TarFormatError }, { streamed }] = await Promise.all([
    import('./decompress.js'),
    import('./unpack.js'),
    import('./tar.js'),
    import('./reclaim.js'),
  ]);
  const tmp = store.tempPath(`snapshot-${hexOf(chainId).slice(0, 12)}`);
  mkdirSync(join(tmp, 'diff'), { recursive: true, mode: 0o755 });
  try {
    if (process.env.RUNT_TEST_HOLD_UNPACK) await holdForTest(process.env.RUNT_TEST_HOLD_UNPACK, tmp);
    const hash = newHash();
    const stream = openLayer(store.blobPath(layer.digest));
    async function* hashed(): AsyncGenerator<Buffer> {
      for await (const chunk of stream) {
        hash.update(chunk as Buffer);
        streamed((chunk as Buffer).length);
        yield chunk as Buffer;
      }
    }
    let st;
    try {
      st = await applyLayer(hashed(), join(tmp, 'diff'), lowers, limits);
    } catch (e) {
      stream.destroy();
      if (e instanceof ImageError) throw e;
      if (e instanceof LayerRejected || e instanceof TarFormatError) throw imageError.layer(layer.digest, e.message);
      const msg = (e as Error).message;
      if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw imageError.layer(layer.digest, 'no space left on the store device');
      if (/unexpected end|incorrect header|invalid|unexpected end of file/i.test(msg))
        throw imageError.layer(layer.digest, `truncated or corrupt: ${msg}`);
      throw imageError.layer(layer.digest, msg);
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== diffId) throw imageError.digest(`layer ${layer.digest} (uncompressed, config diff_id)`, diffId, got);
    writeFileSync(
      join(tmp, 'meta.json'),
      JSON.stringify({ chainId, diffId, layer: layer.digest, entries: st.entries, bytes: st.bytes, copiedUp: st.copiedUp }),
    );
    try {
      renameSync(tmp, join(store.snapshotsDir, hexOf(chainId)));
    } catch (e) {
      // Another runt unpacked it meanwhile: theirs is as good.
      if (!existsSync(snapshotDir(store, chainId))) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Tests only: an unpack stopped with its work directory made, so that a test can do something
 * meanwhile (a prune, an rm). Writes `<dir>/held` (the work directory) and waits for `<dir>/release`.
 */
async function holdForTest(dir: string, tmp: string): Promise<void> {
  writeFileSync(join(dir, 'held'), tmp);
  while (!existsSync(join(dir, 'release'))) await new Promise((r) => setTimeout(r, 20));
}

export function listSnapshots(store: ImageStore): string[] {
  try {
    return readdirSync(store.snapshotsDir)
      .filter((f) => /^[a-f0-9]{64}$/.test(f))
      .map((f) => `sha256:${f}`);
  } catch {
    return [];
  }
}

export function snapshotBytes(store: ImageStore, chainId: string): number {
  try {
    return (JSON.parse(readFileSync(join(store.snapshotsDir, hexOf(chainId), 'meta.json'), 'utf8')) as { bytes: number }).bytes;
  } catch {
    return 0;
  }
}
