// A streaming tar reader (ustar, pax and GNU long names, base-256 numbers) that keeps names and
// xattr values as bytes where they are bytes: security.capability is binary. It reads only what
// it needs to: an entry's body is a stream the caller consumes or skips before the next header.
import { ByteReader } from './byte-reader.js';

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarEntry {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (pax gives fractions). */
  mtime: number;
  atime?: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Extended attributes from pax SCHILY.xattr.* records, values as bytes. */
  xattrs: Map<string, Buffer>;
}

const BLOCK = 512;
/** Extensions and metadata records are read whole: refuse absurd sizes. */
const MAX_META = 16 << 20;

export class TarFormatError extends Error {}

function cstring(b: Buffer): string {
  const nul = b.indexOf(0);
  return (nul >= 0 ? b.subarray(0, nul) : b).toString('utf8');
}

function numeric(b: Buffer, field: string): number {
  if (b[0] & 0x80) {
    // base-256 (GNU): big-endian two's complement in the remaining bits
    let v = BigInt(b[0] & 0x7f);
    if (b[0] & 0x40) throw new TarFormatError(`negative number in ${field}`);
    for (let i = 1; i < b.length; i++) v = (v << 8n) | BigInt(b[i]);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TarFormatError(`number too large in ${field}`);
    return Number(v);
  }
  const s = cstring(b).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new TarFormatError(`bad octal number "${s}" in ${field}`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  const stored = numeric(h.subarray(148, 156), 'chksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : h[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

/** Pax records: "LEN key=value\n", LEN counting bytes; values stay bytes. */
export function parsePax(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < data.length) {
    if (data[i] === 0) break;
    const sp = data.indexOf(0x20, i);
    if (sp < 0) throw new TarFormatError('bad pax record');
    const len = Number(data.subarray(i, sp).toString('ascii'));
    if (!Number.isInteger(len) || len <= sp - i + 1 || i + len > data.length) throw new TarFormatError('bad pax record length');
    const rec = data.subarray(sp + 1, i + len - 1);
    if (data[i + len - 1] !== 0x0a) throw new TarFormatError('pax record without newline');
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError('pax record without "="');
    out.set(rec.subarray(0, eq).toString('utf8'), Buffer.from(rec.subarray(eq + 1)));
    i += len;
  }
  return out;
}

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};

export interface TarItem {
  entry: TarEntry;
  /** The body (regular files only; empty for others). Consume it or it is skipped. */
  body: AsyncGenerator<Buffer>;
}

/** Entries in order. The tar's own end (two zero blocks) ends it; data after that is read and ignored. */
export async function* readTar(source: AsyncIterable<Buffer>): AsyncGenerator<TarItem> {
  const r = new ByteReader(source);
  let pax = new Map<string, Buffer>();
  let globalPax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const h = await r.read(BLOCK);
    if (!h) return; // an archive cut at a block boundary before its end blocks: accepted as GNU tar does
    if (h.every((b) => b === 0)) {
      await r.drain();
      return;
    }
    if (!checksumOk(h)) throw new TarFormatError(`bad header checksum at offset ${r.offset - BLOCK}`);
    const flag = String.fromCharCode(h[156]);
    const size = numeric(h.subarray(124, 136), 'size');
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_META) throw new TarFormatError(`extension header of ${size} bytes`);
      const data = (await r.read(padded)) ?? Buffer.alloc(0);
      if (data.length < size) throw new TarFormatError('truncated extension header');
      const body = data.subarray(0, size);
      if (flag === 'x') pax = new Map([...pax, ...parsePax(body)]);
      else if (flag === 'g') globalPax = new Map([...globalPax, ...parsePax(body)]);
      else if (flag === 'L') longName = cstring(body);
      else longLink = cstring(body);
      continue;
    }
    const type = TYPES[flag];
    const ustar = h.subarray(257, 262).toString('latin1') === 'ustar';
    let name = cstring(h.subarray(0, 100));
    const prefix = ustar ? cstring(h.subarray(345, 500)) : '';
    if (prefix && h.subarray(257, 263).toString('latin1') === 'ustar\0') name = `${prefix}/${name}`;
    const all = new Map([...globalPax, ...pax]);
    const str = (k: string) => all.get(k)?.toString('utf8');
    const num = (k: string, dflt: number) => {
      const v = str(k);
      if (v === undefined) return dflt;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new TarFormatError(`bad pax ${k} "${v}"`);
      return n;
    };
    name = str('path') ?? longName ?? name;
    const entrySize = num('size', size);
    const xattrs = new Map<string, Buffer>();
    for (const [k, v] of all) if (k.startsWith('SCHILY.xattr.')) xattrs.set(k.slice('SCHILY.xattr.'.length), v);
    const entry: TarEntry = {
      name,
      type: type ?? 'file',
      mode: numeric(h.subarray(100, 108), 'mode') & 0o7777,
      uid: num('uid', numeric(h.subarray(108, 116), 'uid')),
      gid: num('gid', numeric(h.subarray(116, 124), 'gid')),
      size: entrySize,
      mtime: num('mtime', numeric(h.subarray(136, 148), 'mtime')),
      atime: all.has('atime') ? num('atime', 0) : undefined,
      linkname: str('linkpath') ?? longLink ?? cstring(h.subarray(157, 257)),
      uname: str('uname') ?? cstring(h.subarray(265, 297)),
      gname: str('gname') ?? cstring(h.subarray(297, 329)),
      devmajor: ustar ? numeric(h.subarray(329, 337), 'devmajor') : 0,
      devminor: ustar ? numeric(h.subarray(337, 345), 'devminor') : 0,
      xattrs,
    };
    pax = new Map();
    longName = undefined;
    longLink = undefined;
    if (!type) throw new TarFormatError(`entry "${name}": unsupported type flag "${flag === '\0' ? '\\0' : flag}"`);
    // Only regular files carry data a reader wants; others' sizes (hard links) are skipped.
    const dataSize = entry.type === 'file' ? entrySize : flag === '1' || flag === '2' || flag === '5' ? 0 : entrySize;
    const skipSize = entry.type === 'file' ? entrySize : size;
    const paddedData = Math.ceil(skipSize / BLOCK) * BLOCK;
    let got = 0;
    const body = (async function* () {
      for await (const c of r.stream(dataSize)) {
        got += c.length;
        yield c;
      }
    })();
    yield { entry, body };
    await body.return(undefined);
    await r.skip(paddedData - got);
  }
}
