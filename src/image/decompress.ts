// A layer blob's bytes as a tar stream: gzip by zlib, uncompressed as is. zstd is refused with a
// line naming the layer: Node 20's zlib has no zstd and no small, well-kept pure decoder was
// worth a dependency yet.
import { createReadStream, openSync, readSync, closeSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { imageError } from './errors.js';

export type Compression = 'gzip' | 'zstd' | 'none';

export function sniffCompression(path: string): Compression {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(4);
  try {
    readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

export function openLayer(path: string, layer: string): Readable {
  const kind = sniffCompression(path);
  if (kind === 'zstd') throw imageError.unsupported(`layer ${layer}: zstd-compressed layers are not supported yet (Node 20's zlib has no zstd)`);
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  if (kind === 'none') return raw;
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  raw.on('error', (e) => gunzip.destroy(e));
  return raw.pipe(gunzip);
}
