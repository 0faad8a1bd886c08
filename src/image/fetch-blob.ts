// One blob from the registry into the store: streamed to <store>/tmp/<hex>.partial while its
// sha256 is computed, resumed from there with Range after an interrupted pull, renamed into
// blobs/ only once its size and digest are right. The partial file is flocked meanwhile: two pulls
// needing the same blob take turns, the second finding it in blobs/.
import { closeSync, constants as C, existsSync, openSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';
import { hexOf } from './digest.js';
import { ImageError, imageError } from './errors.js';
import type { Descriptor } from './media-types.js';
import type { RegistryClient } from './registry.js';
import type { ImageStore } from './store.js';
import { copyDirect } from './fast-blob.js';

/** Bytes of a body hashed and written in one go off the main thread. Batches are kept for the next
 *  download (at most two per download at once): 1 MB batches allocated afresh per blob left the
 *  201 MiB pull's peak RSS ~15 MB above the stream path's; 256 KB ones, reused, cost no more CPU. */
const BATCH = 256 << 10;
const spareBatches: Buffer[] = [];
/** A minor GC per 4 MB of 16 KB TLS chunks (each copied into a batch, then dead) rather than
 *  reclaim.ts's per MB: on the 201 MiB bench pull over HTTPS, CPU 1.08 → 0.84 s, peak RSS 79 → 82 MB
 *  (without any forced GC: 97 MB). */
const TLS_MINOR_EVERY = 4 << 20;

export function partialPath(store: ImageStore, digest: string): string {
  return join(store.tmpDir, `${hexOf(digest)}.partial`);
}

export async function fetchBlob(
  client: RegistryClient,
  store: ImageStore,
  desc: Descriptor,
  onBytes?: (done: number, total: number) => void,
): Promise<'cached' | 'fetched' | 'resumed'> {
  if (store.hasBlob(desc.digest)) return 'cached';
  const partial = partialPath(store, desc.digest);
  // Another pull (of an image sharing this layer) may be downloading it: one at a time per blob.
  const held = await store.lockFile(partial);
  try {
    if (store.hasBlob(desc.digest)) {
      rmSync(partial, { force: true });
      return 'cached';
    }
    return await download(client, store, desc, partial, onBytes);
  } finally {
    // The lock made the file: one that got no byte is no download to resume.
    if (existsSync(partial) && statSync(partial).size === 0) rmSync(partial, { force: true });
    held.release();
  }
}

async function download(
  client: RegistryClient,
  store: ImageStore,
  desc: Descriptor,
  partial: string,
  onBytes?: (done: number, total: number) => void,
): Promise<'fetched' | 'resumed'> {
  let offset = 0;
  try {
    offset = statSync(partial).size;
  } catch {
    // none yet
  }
  if (offset >= desc.size) {
    truncateSync(partial, 0);
    offset = 0;
  }
  const tooLong = () => imageError.digest(`blob ${desc.digest}`, `${desc.size} bytes`, `more than ${desc.size} bytes`);
  const direct = await copyDirect(
    client,
    desc.digest,
    desc.size,
    partial,
    offset,
    client.timeoutMs,
    onBytes && ((done) => onBytes(done, desc.size)),
    () => {
      rmSync(partial, { force: true });
      return tooLong();
    },
  );
  if (direct) {
    const done = direct.offset + direct.bytes;
    if (direct.failure) {
      if (direct.failure.code === 'ENOSPC') throw noSpace(desc, partial);
      throw interrupted(client, desc, done, direct.failure.message);
    }
    return complete(client, store, desc, partial, done, `sha256:${direct.digest}`, direct.offset > 0);
  }
  // Through Node's HTTP (HTTPS, or an answer the direct copy leaves to the client's policy): the
  // decrypted chunks are gathered into batches (BATCH) that the addon hashes and appends on the thread
  // pool (csrc/blob_sink.cc), one batch in flight while the next fills.
  const { streamed } = await import('./reclaim.js');
  const { res, partial: ranged } = await client.getBlob(desc.digest, offset);
  const resumed = offset > 0 && ranged;
  if (!resumed) offset = 0;
  const n = native();
  const sink = n.blobSinkNew();
  const fd = openSync(partial, resumed ? C.O_RDWR | C.O_APPEND : C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o600);
  // The second batch only when the body needs it; a small body fills a batch only as far as it goes.
  const size = Math.max(1, Math.min(BATCH, desc.size - offset));
  const batches = [spareBatches.pop() ?? Buffer.allocUnsafeSlow(BATCH)];
  let cur = 0;
  let fill = 0;
  let inFlight: Promise<void> = resumed ? n.blobSinkHashFile(sink, fd, offset) : Promise.resolve();
  inFlight.catch(() => {});
  const submit = async () => {
    await inFlight;
    inFlight = n.blobSinkWrite(sink, fd, batches[cur].subarray(0, fill));
    inFlight.catch(() => {});
    cur ^= 1;
    fill = 0;
  };
  let done = offset;
  let digest: string;
  try {
    try {
      for await (const chunk of res) {
        const c = chunk as Buffer;
        done += c.length;
        if (done > desc.size) throw tooLong();
        for (let at = 0; at < c.length;) {
          batches[cur] ??= spareBatches.pop() ?? Buffer.allocUnsafeSlow(BATCH);
          const copied = c.copy(batches[cur], fill, at, Math.min(c.length, at + size - fill));
          fill += copied;
          at += copied;
          if (fill === size) await submit();
        }
        onBytes?.(done, desc.size);
        streamed(c.length, TLS_MINOR_EVERY);
      }
      if (fill) await submit();
      await inFlight;
      digest = n.blobSinkDigest(sink);
    } finally {
      await inFlight.catch(() => {});
      closeSync(fd);
      spareBatches.push(...batches);
    }
  } catch (e) {
    res.destroy();
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw noSpace(desc, partial);
    if ((e as { code?: string }).code === 'EDIGEST_MISMATCH') rmSync(partial, { force: true });
    if (e instanceof ImageError) throw e;
    throw interrupted(client, desc, done, (e as Error).message);
  }
  return complete(client, store, desc, partial, done, `sha256:${digest}`, resumed);
}

/** A download that stopped short: its partial file stays, for the next pull to resume. */
function interrupted(client: RegistryClient, desc: Descriptor, done: number, why: string): ImageError {
  return imageError.registry(client.ref.path, `blob ${desc.digest}: download interrupted at ${done} of ${desc.size} bytes: ${why}`);
}

/** A full store device: the partial file goes (a later pull starts clean). */
function noSpace(desc: Descriptor, partial: string): ImageError {
  rmSync(partial, { force: true });
  return imageError.store(`blob ${desc.digest}: no space left on the store device`);
}

/** The download is whole: into blobs/ if its size and digest are right, else removed. */
function complete(
  client: RegistryClient,
  store: ImageStore,
  desc: Descriptor,
  partial: string,
  done: number,
  got: string,
  resumed: boolean,
): 'fetched' | 'resumed' {
  if (done !== desc.size || got !== desc.digest) {
    rmSync(partial, { force: true });
    if (done !== desc.size) throw imageError.registry(client.ref.path, `blob ${desc.digest}: got ${done} of ${desc.size} bytes`);
    throw imageError.digest(`blob ${desc.digest}`, desc.digest, got);
  }
  renameSync(partial, store.blobPath(desc.digest));
  return resumed ? 'resumed' : 'fetched';
}
