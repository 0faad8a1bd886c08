// A ttrpc server for unary methods over unix stream connections: frames from ttrpc.ts, ttrpc.Request
// and ttrpc.Response from request.proto. Requests on one connection are served concurrently (Wait
// stays pending for as long as the process runs) and answered on their own stream. Whatever a
// client sends — a frame over 4 MiB, bytes that are not a Request, a payload that is not the
// method's message, an unknown method, an even stream id — gets an error status on that stream and
// the connection goes on serving.
import net from 'node:net';
import { encodeFrame, FrameDecoder, MESSAGE_TYPE, type Frame } from './ttrpc.js';
import { decode, encode } from './proto.js';
import { CODE, StatusError } from './ttrpc-status.js';

export type UnaryHandler = (request: Record<string, unknown>) => Promise<Record<string, unknown>>;

interface Method {
  requestType: string;
  responseType: string;
  handler: UnaryHandler;
}

interface TtrpcRequest {
  service: string;
  method: string;
  payload: Uint8Array;
}

export class TtrpcServer {
  private readonly methods = new Map<string, Method>();
  private readonly connections = new Set<net.Socket>();
  readonly server: net.Server;
  /** Errors of handlers that are not StatusErrors (for the shim's log). */
  onError: (e: unknown) => void = () => {};
  /** Called when a client connects or goes. */
  onConnections: () => void = () => {};

  constructor() {
    this.server = net.createServer((socket) => this.serve(socket));
  }

  /** Serve `service`.`method` (e.g. containerd.task.v2.Task, Create) with protobuf message names. */
  register(service: string, method: string, requestType: string, responseType: string, handler: UnaryHandler): void {
    this.methods.set(`${service}/${method}`, { requestType, responseType, handler });
  }

  listen(where: { fd: number } | { path: string }): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(where, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Clients connected now. */
  get connectionCount(): number {
    return this.connections.size;
  }

  close(): void {
    this.server.close();
    for (const c of this.connections) c.destroy();
  }

  private serve(socket: net.Socket): void {
    this.connections.add(socket);
    this.onConnections();
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) void this.dispatch(socket, frame);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.connections.delete(socket);
      this.onConnections();
    });
  }

  private async dispatch(socket: net.Socket, frame: Frame): Promise<void> {
    const reply = (payload: Buffer | null, code = 0, message = '') => {
      const response = code === 0 ? { payload } : { status: { code, message } };
      if (!socket.destroyed)
        socket.write(
          encodeFrame({ streamId: frame.streamId, type: MESSAGE_TYPE.RESPONSE, flags: 0, data: encode('ttrpc.Response', response) }),
        );
    };
    if (frame.oversized !== undefined) {
      reply(null, CODE.RESOURCE_EXHAUSTED, `message of ${frame.oversized} bytes is over the 4 MiB limit`);
      return;
    }
    if (frame.type !== MESSAGE_TYPE.REQUEST) {
      // Only unary methods here: data on a stream this server never opened is an error.
      reply(null, CODE.INVALID_ARGUMENT, `unexpected message type ${frame.type} on stream ${frame.streamId}`);
      return;
    }
    if (frame.streamId % 2 === 0) {
      reply(null, CODE.INVALID_ARGUMENT, `stream id ${frame.streamId} is even: client streams are odd`);
      return;
    }
    let req: TtrpcRequest;
    try {
      req = decode<TtrpcRequest>('ttrpc.Request', frame.data);
    } catch (e) {
      reply(null, CODE.INVALID_ARGUMENT, `unmarshal request error: ${(e as Error).message}`);
      return;
    }
    const method = this.methods.get(`${req.service}/${req.method}`);
    if (!method) {
      reply(null, CODE.UNIMPLEMENTED, `${req.service}/${req.method}: no such method`);
      return;
    }
    let args: Record<string, unknown>;
    try {
      args = decode(method.requestType, req.payload);
    } catch (e) {
      reply(null, CODE.INVALID_ARGUMENT, `${req.method}: payload is not a ${method.requestType}: ${(e as Error).message}`);
      return;
    }
    try {
      const result = await method.handler(args);
      reply(encode(method.responseType, result));
    } catch (e) {
      if (e instanceof StatusError) {
        reply(null, e.code, e.message);
      } else {
        this.onError(e);
        reply(null, CODE.UNKNOWN, (e as Error)?.message ?? String(e));
      }
    }
  }
}
