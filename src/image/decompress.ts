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

/** A streaming zstd decoder (all frames of the input, skippable frames skipped). */
export function createZstdDecompress(): Transform {
  // Copied: a raw block comes back as a view of the input chunk.
  const decoder = new Decompress((data) => {
    if (data.length) out.push(Buffer.from(data));
  });
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      try {
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

function zstdError(e: unknown): Error {
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
