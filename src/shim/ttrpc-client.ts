// A ttrpc client for unary calls (the shim's events go to containerd's ttrpc Events service).
import net from 'node:net';
import { encodeFrame, FrameDecoder, MESSAGE_TYPE } from './ttrpc.js';
import { decode, encode } from './proto.js';
import { StatusError } from './ttrpc-status.js';

interface Pending {
  resolve: (payload: Uint8Array) => void;
  reject: (e: Error) => void;
}

export class TtrpcClient {
  private nextStream = 1;
  private readonly pending = new Map<number, Pending>();
  private closedError?: Error;

  private constructor(private readonly socket: net.Socket) {
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const frame of decoder.push(chunk)) {
          const p = this.pending.get(frame.streamId);
          if (!p || frame.type !== MESSAGE_TYPE.RESPONSE) continue;
          this.pending.delete(frame.streamId);
          const res = decode<{ status: { code: number; message: string } | null; payload: Uint8Array }>('ttrpc.Response', frame.data);
          if (res.status && res.status.code !== 0) p.reject(new StatusError(res.status.code, res.status.message));
          else p.resolve(res.payload);
        }
      } catch (e) {
        socket.destroy(e as Error);
      }
    });
    const fail = (e?: Error) => {
      this.closedError ??= e ?? new Error('ttrpc: connection closed');
      for (const p of this.pending.values()) p.reject(this.closedError);
      this.pending.clear();
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
  }

  static connect(path: string): Promise<TtrpcClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(path);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new TtrpcClient(socket));
      });
    });
  }

  get closed(): boolean {
    return this.closedError !== undefined || this.socket.destroyed;
  }

  async call(
    service: string,
    method: string,
    requestType: string,
    request: Record<string, unknown>,
    responseType: string,
    metadata: Record<string, string> = {},
  ): Promise<Record<string, unknown>> {
    if (this.closed) throw this.closedError ?? new Error('ttrpc: connection closed');
    const streamId = this.nextStream;
    this.nextStream += 2;
    const payload = encode(requestType, request);
    const data = encode('ttrpc.Request', {
      service,
      method,
      payload,
      metadata: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    });
    const answer = new Promise<Uint8Array>((resolve, reject) => this.pending.set(streamId, { resolve, reject }));
    this.socket.write(encodeFrame({ streamId, type: MESSAGE_TYPE.REQUEST, flags: 0, data }));
    return decode(responseType, await answer);
  }

  close(): void {
    this.socket.destroy();
  }
}
