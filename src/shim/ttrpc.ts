// ttrpc's message framing (containerd/ttrpc PROTOCOL.md): a 10-byte header — data length (u32 BE),
// stream id (u32 BE), message type (u8), flags (u8) — then the data, at most 4 MiB. Client streams
// have odd ids. Request and Response carry protobuf messages (ttrpc.Request, ttrpc.Response in
// proto/github.com/containerd/ttrpc/request.proto); this module only cuts and builds frames.

export const HEADER_LENGTH = 10;
export const MAX_DATA_LENGTH = 4 << 20;

export const MESSAGE_TYPE = { REQUEST: 1, RESPONSE: 2, DATA: 3 } as const;

export const FLAG = {
  /** Request and data: no more data from the sender. */
  REMOTE_CLOSED: 0x01,
  /** Request: the sender goes on sending data. */
  REMOTE_OPEN: 0x02,
  /** Data: the frame carries no data. */
  NO_DATA: 0x04,
} as const;

export interface Frame {
  streamId: number;
  type: number;
  flags: number;
  data: Buffer;
  /** Set on a frame that announced more than MAX_DATA_LENGTH: its data was skipped, not kept. */
  oversized?: number;
}

export class FrameError extends Error {
  constructor(
    message: string,
    readonly streamId = 0,
  ) {
    super(message);
  }
}

export function encodeFrame(frame: Frame): Buffer {
  if (frame.data.length > MAX_DATA_LENGTH) {
    throw new FrameError(`ttrpc: message of ${frame.data.length} bytes is over the 4 MiB limit`, frame.streamId);
  }
  const out = Buffer.allocUnsafe(HEADER_LENGTH + frame.data.length);
  out.writeUInt32BE(frame.data.length, 0);
  out.writeUInt32BE(frame.streamId >>> 0, 4);
  out.writeUInt8(frame.type, 8);
  out.writeUInt8(frame.flags, 9);
  frame.data.copy(out, HEADER_LENGTH);
  return out;
}

/** Cuts a byte stream into frames. A frame announcing more than 4 MiB comes out with `oversized`
 *  set and no data: its data is read and dropped, so the frames after it are still found (the
 *  receiver answers its stream with an error, as ttrpc's own server does). */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Data bytes of an oversized frame still to drop. */
  private skip = 0;

  push(chunk: Buffer): Frame[] {
    if (this.skip > 0) {
      const dropped = Math.min(this.skip, chunk.length);
      this.skip -= dropped;
      chunk = chunk.subarray(dropped);
    }
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < HEADER_LENGTH) break;
      const head = this.peek(HEADER_LENGTH);
      const length = head.readUInt32BE(0);
      const streamId = head.readUInt32BE(4);
      if (length > MAX_DATA_LENGTH) {
        const [type, flags] = [head[8], head[9]];
        this.take(HEADER_LENGTH);
        const now = Math.min(length, this.buffered);
        if (now) this.take(now);
        this.skip = length - now;
        frames.push({ streamId, type, flags, data: Buffer.alloc(0), oversized: length });
        if (this.skip > 0) break;
        continue;
      }
      if (this.buffered < HEADER_LENGTH + length) break;
      const whole = this.take(HEADER_LENGTH + length);
      frames.push({ streamId, type: whole[8], flags: whole[9], data: whole.subarray(HEADER_LENGTH) });
    }
    return frames;
  }

  /** Bytes received that do not make a whole frame yet. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    const first = this.chunks[0];
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}
