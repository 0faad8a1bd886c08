// The protobuf wire format by hand, for the few messages of the paths that must not load
// protobufjs and the generated messages: the Claim of `start` (claim.ts) and the DeleteResponse
// of `delete` (cleanup.ts), run by containerd for every container.

/** A protobuf varint (base 128, least significant group first) of a non-negative integer. */
export function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
  return out;
}

/** A length-delimited field (string, bytes, message). */
export function field(n: number, value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([Buffer.from([(n << 3) | 2, ...varint(bytes.length)]), bytes]);
}

/** The fields of a message by number: varints as numbers, length-delimited ones as bytes (the
 *  last of a number wins). Throws on bytes that are not a message. */
export function fields(data: Buffer): Map<number, number | Buffer> {
  const out = new Map<number, number | Buffer>();
  let at = 0;
  const readVarint = () => {
    let v = 0;
    for (let scale = 1; ; scale *= 0x80) {
      if (at >= data.length || scale > 2 ** 63) throw new Error('truncated varint');
      const b = data[at++];
      v += (b & 0x7f) * scale;
      if (!(b & 0x80)) return v;
    }
  };
  while (at < data.length) {
    const key = readVarint();
    const n = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) out.set(n, readVarint());
    else if (wire === 1 || wire === 5) at += wire === 1 ? 8 : 4;
    else if (wire === 2) {
      const len = readVarint();
      if (at + len > data.length) throw new Error('truncated field');
      out.set(n, data.subarray(at, at + len));
      at += len;
    } else throw new Error(`wire type ${wire}`);
    if (at > data.length) throw new Error('truncated field');
  }
  return out;
}
