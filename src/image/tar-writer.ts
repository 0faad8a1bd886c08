// A tar writer (ustar, with pax records for long names, large numbers and xattrs as bytes): for
// `runt image export` and for building layers.
import type { EntryType } from './tar.js';

export interface TarWriteEntry {
  name: string;
  type: EntryType;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer> | Record<string, Buffer | string>;
  /** File content size (type 'file'); the body is written separately. */
  size?: number;
}

const FLAG: Record<EntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len)), body]);
}

function header(name: string, flag: string, e: TarWriteEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name.slice(0, 100), 0, 'utf8');
  h.write(octal((e.mode ?? 0o644) & 0o7777, 8), 100, 'ascii');
  h.write(octal(Math.min(e.uid ?? 0, 0o7777777), 8), 108, 'ascii');
  h.write(octal(Math.min(e.gid ?? 0, 0o7777777), 8), 116, 'ascii');
  h.write(octal(Math.min(size, 0o77777777777), 12), 124, 'ascii');
  h.write(octal(Math.max(0, Math.min(Math.floor(e.mtime ?? 0), 0o77777777777)), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(flag, 156, 'ascii');
  h.write((e.linkname ?? '').slice(0, 100), 157, 'utf8');
  h.write('ustar\x0000', 257, 'latin1');
  h.write(octal(e.devmajor ?? 0, 8), 329, 'ascii');
  h.write(octal(e.devminor ?? 0, 8), 337, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** The header block(s) of an entry; a file's body follows, padded by padding(size). */
export function tarHeader(e: TarWriteEntry): Buffer {
  const size = e.type === 'file' ? (e.size ?? 0) : 0;
  const records: Buffer[] = [];
  if (Buffer.byteLength(e.name) > 100) records.push(paxRecord('path', Buffer.from(e.name)));
  if (e.linkname && Buffer.byteLength(e.linkname) > 100) records.push(paxRecord('linkpath', Buffer.from(e.linkname)));
  if (size > 0o77777777777) records.push(paxRecord('size', Buffer.from(String(size))));
  if ((e.uid ?? 0) > 0o7777777) records.push(paxRecord('uid', Buffer.from(String(e.uid))));
  if ((e.gid ?? 0) > 0o7777777) records.push(paxRecord('gid', Buffer.from(String(e.gid))));
  const xattrs = e.xattrs instanceof Map ? [...e.xattrs] : Object.entries(e.xattrs ?? {});
  for (const [k, v] of xattrs) records.push(paxRecord(`SCHILY.xattr.${k}`, Buffer.isBuffer(v) ? v : Buffer.from(v)));
  const out: Buffer[] = [];
  if (records.length) {
    const body = Buffer.concat(records);
    out.push(header('PaxHeaders/entry', 'x', { name: '', type: 'file', mode: 0o644 }, body.length), body, padding(body.length));
  }
  out.push(header(e.name, FLAG[e.type], e, size));
  return Buffer.concat(out);
}

export function padding(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(1024);

/** A whole archive in memory (small archives: configs, tests). */
export function tarBuffer(entries: Array<TarWriteEntry & { data?: Buffer | string }>): Buffer {
  const out: Buffer[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data);
    out.push(tarHeader({ ...e, size: e.type === 'file' ? data.length : 0 }));
    if (e.type === 'file') out.push(data, padding(data.length));
  }
  out.push(TAR_END);
  return Buffer.concat(out);
}
