// A layer blob's bytes as a tar stream: gzip by zlib, zstd by fzstd (Node 20's zlib has no zstd),
// uncompressed as is. Both decoders stream: a layer is never whole in memory.
import { createReadStream, openSync, readSync, closeSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { Transform, type Readable } from 'node:stream';
import { Decompress } from 'fzstd';

export type Compression = 'gzip' | 'zstd' | 'none';

const ZSTD_MAGIC = 0xfd2fb528;

export function sniffCompression(path: string): Compression {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(4);
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === ZSTD_MAGIC) return 'zstd';
  return 'none';
}

/** zstd's own default limit on a decoder's window (ZSTD_WINDOWLOG_LIMIT_DEFAULT, 2^27). */
export const ZSTD_MAX_WINDOW = 128 << 20;

/** A streaming zstd decoder (all frames of the input, skippable frames skipped). */
export function createZstdDecompress(maxWindow = ZSTD_MAX_WINDOW): Transform {
  const guard = windowGuard(maxWindow);
  // Copied: a raw block comes back as a view of the input chunk.
  const decoder = new Decompress((data) => {
    if (data.length) out.push(Buffer.from(data));
  });
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
        guard(chunk);
        decoder.push(chunk);
      } catch (e) {
        return done(zstdError(e));
      }
      done();
    },
    flush(done) {
      try {
        decoder.push(new Uint8Array(0), true);
      } catch (e) {
        return done(zstdError(e));
      }
      done();
    },
  });
  return out;
}

/**
 * Follows the frames of a zstd stream (RFC 8878) as its bytes go by and throws before the decoder
 * sees a frame whose window (or single-segment content size) exceeds the limit: fzstd allocates
 * whatever a frame declares, up to 2 GB. Malformed input is left to the decoder to refuse.
 */
function windowGuard(maxWindow: number): (chunk: Buffer) => void {
  let state: 'magic' | 'skippable' | 'header' | 'block' | 'done' = 'magic';
  let need = 4; // bytes to gather before the state can be read
  let skip = 0; // bytes to pass over (block contents, checksums, skippable frames)
  let held = Buffer.alloc(0);
  let checksum = false;
  return (chunk) => {
    let at = 0;
    while (at < chunk.length && state !== 'done') {
      if (skip) {
        const n = Math.min(skip, chunk.length - at);
        skip -= n;
        at += n;
        continue;
      }
      const take = Math.min(need - held.length, chunk.length - at);
      held = Buffer.concat([held, chunk.subarray(at, at + take)]);
      at += take;
      if (held.length < need) return;
      const b = held;
      held = Buffer.alloc(0);
      if (state === 'magic') {
        const magic = b.readUInt32LE(0);
        if (magic === ZSTD_MAGIC) [state, need] = ['header', 1];
        else if ((magic & 0xfffffff0) === 0x184d2a50) [state, need] = ['skippable', 4];
        else state = 'done';
      } else if (state === 'skippable') {
        [state, need, skip] = ['magic', 4, b.readUInt32LE(0)];
      } else if (state === 'header' && b.length === 1) {
        const fhd = b[0];
        const single = (fhd >> 5) & 1;
        const fcsBytes = [single, 2, 4, 8][fhd >> 6];
        need = 1 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3] + fcsBytes;
        held = Buffer.from(b);
        checksum = ((fhd >> 2) & 1) === 1;
      } else if (state === 'header') {
        const fhd = b[0];
        const single = (fhd >> 5) & 1;
        let window: number;
        if (single) {
          const fcs = b.subarray(1 + [0, 1, 2, 4][fhd & 3]);
          window =
            fcs.length === 1
              ? fcs[0]
              : fcs.length === 2
                ? fcs.readUInt16LE(0) + 256
                : fcs.length === 4
                  ? fcs.readUInt32LE(0)
                  : Number(fcs.readBigUInt64LE(0));
        } else {
          const exp = b[1] >> 3;
          const base = 2 ** (10 + exp);
          window = base + (base / 8) * (b[1] & 7);
        }
        if (window > maxWindow)
          throw new Error(
            `invalid zstd stream: a frame asks for a ${Math.ceil(window / (1 << 20))} MB window, over the ${maxWindow >> 20} MB limit`,
          );
        [state, need] = ['block', 3];
      } else {
        const h = b[0] | (b[1] << 8) | (b[2] << 16);
        const last = h & 1;
        const type = (h >> 1) & 3;
        skip = type === 1 ? 1 : h >>> 3;
        if (last) [state, need, skip] = ['magic', 4, skip + (checksum ? 4 : 0)];
        else need = 3;
      }
    }
  };
}

function zstdError(e: unknown): Error {
  if ((e as Error).message.startsWith('invalid zstd stream')) return e as Error;
  return new Error(`invalid zstd stream: ${(e as Error).message}`);
}

/** The decoder for a compression, or undefined for an uncompressed blob. */
export function createDecompress(kind: Compression): Transform | undefined {
  if (kind === 'gzip') return createGunzip({ chunkSize: 256 * 1024 });
  if (kind === 'zstd') return createZstdDecompress();
  return undefined;
}

export function openLayer(path: string): Readable {
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  const decoder = createDecompress(sniffCompression(path));
  if (!decoder) return raw;
  raw.on('error', (e) => decoder.destroy(e));
  return raw.pipe(decoder);
}
