// A blob from a plain-HTTP registry (loopback, or --insecure) without Node's HTTP stack: the addon
// connects, sends the GET built here and reads the response head; when the head says the body is
// the blob (200, or 206 from the asked offset, with a Content-Length and no transfer or content
// coding), the addon copies the body into the partial file on the thread pool, hashing each read as
// it goes (csrc/blob_fetch.cc), and hands back the byte count and the sha256. No JS runs per chunk and
// no Buffer is made for the body, so the pull costs less CPU per byte and its memory does not grow
// with the blob. Any other answer (an auth challenge, a redirect, an error status, chunked) returns
// null and the caller asks again through the registry client, whose policy handles it.
import { closeSync, constants as C, openSync } from 'node:fs';
import { isIP } from 'node:net';
import { native } from '../native.js';
import { HttpTimeout } from './http.js';
import type { RegistryClient } from './registry.js';

export interface DirectCopy {
  /** The offset the body starts at in the partial file (0 when the registry sent the whole blob). */
  offset: number;
  /** Bytes written to the partial file by this copy. */
  bytes: number;
  /** sha256 of the partial file's bytes (hex), when the copy ended with the body's last byte. */
  digest?: string;
  /** Why the copy stopped short: the stream's end, no byte for the time limit, or a syscall error. */
  failure?: { message: string; code?: string };
}

interface Head {
  status: number;
  headers: Map<string, string>;
}

export function parseHead(head: Buffer): Head | null {
  const lines = head.toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '');
  if (!m) return null;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { status: Number(m[1]), headers };
}

/** Where the body of this answer goes in the partial file, or null when it is not the blob's bytes
 *  from `offset` (or from 0) with a known length. */
export function bodyPlacement(head: Head, offset: number): { start: number; length: number } | null {
  const { status, headers } = head;
  const length = headers.get('content-length');
  if (!length || !/^\d+$/.test(length) || headers.has('transfer-encoding')) return null;
  const coding = headers.get('content-encoding');
  if (coding && coding.toLowerCase() !== 'identity') return null;
  if (status === 200) return { start: 0, length: Number(length) };
  if (status !== 206 || offset === 0) return null;
  const range = /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(headers.get('content-range') ?? '');
  if (!range || Number(range[1]) !== offset) return null;
  return { start: offset, length: Number(length) };
}

/**
 * Downloads the blob `digest` into `partial` (holding `offset` bytes already) through the addon, or
 * returns null when the registry's answer needs the client's policy (nothing written then). A body
 * declared longer than `size` is refused before a byte is written (tooLong).
 */
export async function copyDirect(
  client: RegistryClient,
  digest: string,
  size: number,
  partial: string,
  offset: number,
  timeoutMs: number,
  onBytes: ((done: number) => void) | undefined,
  tooLong: () => Error,
): Promise<DirectCopy | null> {
  const plain = await client.plainBlobRequest(digest, offset);
  if (!plain) return null;
  const { url, headers } = plain;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let address = host;
  let family = isIP(host);
  if (!family) {
    try {
      const { lookup } = await import('node:dns/promises');
      ({ address, family } = await lookup(host));
    } catch (e) {
      throw client.unreachable(e);
    }
  }
  const request = Buffer.from(
    [
      `GET ${url.pathname}${url.search} HTTP/1.1`,
      `host: ${url.host}`,
      'user-agent: runt',
      'accept-encoding: identity',
      'connection: close',
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      '',
      '',
    ].join('\r\n'),
    'latin1',
  );
  const port = Number(url.port) || 80;
  let conn;
  try {
    conn = await native().blobConnect(address, family, port, request, timeoutMs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ETIMEDOUT') throw client.unreachable(new HttpTimeout(`no answer within ${timeoutMs / 1000} s`));
    // A response head over 64 KB: Node's HTTP client may still take it.
    if (code === 'EMSGSIZE') return null;
    throw client.unreachable(e);
  }
  try {
    const head = parseHead(conn.head);
    const place = head && bodyPlacement(head, offset);
    if (!place || conn.rest.length > place.length) return null;
    if (place.start + place.length > size) throw tooLong();
    const file = openSync(partial, place.start > 0 ? C.O_RDWR | C.O_APPEND : C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o600);
    try {
      const progress = onBytes && ((n: number) => onBytes(place.start + n));
      const r = await native().blobCopy(conn.fd, file, conn.rest, place.length, place.start, timeoutMs, progress);
      const out: DirectCopy = { offset: place.start, bytes: r.bytes };
      if (r.ended === 'done') out.digest = r.digest;
      else if (r.ended === 'eof') out.failure = { message: 'the registry closed the connection' };
      else out.failure = { message: `no data for ${timeoutMs / 1000} s` };
      return out;
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { bytes?: number };
      if (typeof err.bytes !== 'number') throw e;
      return { offset: place.start, bytes: err.bytes, failure: { message: err.message, code: err.code } };
    } finally {
      closeSync(file);
    }
  } finally {
    native().close(conn.fd);
  }
}
