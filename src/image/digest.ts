// sha256 digests of bytes and streams. Whole documents (manifests, configs, chain ids) are hashed
// by the addon; node:crypto (~3 ms to load) loads only for a stream hashed in JavaScript.
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { native } from '../native.js';

export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;

export function sha256(data: Buffer | string): string {
  return `sha256:${native().sha256(typeof data === 'string' ? Buffer.from(data, 'utf8') : data)}`;
}

export function hexOf(digest: string): string {
  if (!SHA256_DIGEST.test(digest)) throw new Error(`unsupported digest "${digest}" (only sha256)`);
  return digest.slice(7);
}

export function newHash(): Hash {
  return process.getBuiltinModule('node:crypto').createHash('sha256');
}

export async function sha256File(path: string): Promise<string> {
  const h = newHash();
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return `sha256:${h.digest('hex')}`;
}

/** Chain IDs of the image spec (config.md): ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}
