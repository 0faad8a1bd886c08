// The Claim handshake (runt.shim.v1.Front/Claim, proto/runt/shim/v1/front.proto): how a `start`
// hands a new container to a running shim. The shim answers only when it is not exiting and the
// container belongs to it (its group's address is the shim's own), writes the container's address
// file, and stays at least a full idle period for containerd's Create. A socket that merely accepts
// a connection proves nothing: a shim that is exiting, or a stale file, must not be handed a
// container. csrc/shim_front.cc makes the same request without Node (to the shim of the group it
// reads from config.json as a hint).
import { lstatSync, renameSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { ShimArgs } from './args.js';
import { shimAddressOf } from './address.js';
import { field, fields } from './wire.js';
import { encodeFrame, FrameDecoder, MESSAGE_TYPE } from './ttrpc.js';
import { CODE, StatusError } from './ttrpc-status.js';
import type { UnaryHandler } from './ttrpc-server.js';

export const FRONT_SERVICE = 'runt.shim.v1.Front';

/** The address file containerd reads back when it restarts (written atomically, as containerd's shims do). */
export function writeAddress(bundle: string, address: string): void {
  const tmp = join(bundle, '.address');
  writeFileSync(tmp, address, { mode: 0o600 });
  renameSync(tmp, join(bundle, 'address'));
}

export interface ClaimingShim {
  args: ShimArgs;
  /** This shim's address (unix://PATH of its socket). */
  address: string;
  exiting: () => boolean;
  /** Container `id` was handed over: keep serving for at least an idle period. */
  claimed: (id: string) => void;
  log: (line: string) => void;
}

/** The shim's end: Claim's handler. */
export function claimHandler(shim: ClaimingShim): UnaryHandler {
  return async (req) => {
    // Nothing below awaits: the answer is given before an exit (a timer) can begin.
    if (shim.exiting()) throw new StatusError(CODE.UNAVAILABLE, 'the shim is exiting');
    const { args } = shim;
    if (req.namespace !== args.namespace || req.address !== args.address) {
      throw new StatusError(
        CODE.FAILED_PRECONDITION,
        `this shim serves namespace "${args.namespace}" of containerd ${args.address}, not "${String(req.namespace)}" of ${String(req.address)}`,
      );
    }
    const bundle = String(req.bundle);
    if (!isAbsolute(bundle)) throw new StatusError(CODE.INVALID_ARGUMENT, `bundle "${bundle}" is not an absolute path`);
    let address: string;
    try {
      address = shimAddressOf(bundle, args.address, args.namespace, String(req.id));
    } catch (e) {
      throw new StatusError(CODE.INVALID_ARGUMENT, `bundle ${bundle}: ${(e as Error).message}`);
    }
    if (address !== shim.address)
      throw new StatusError(CODE.FAILED_PRECONDITION, `container "${String(req.id)}" belongs to the shim at ${address}`);
    writeAddress(bundle, shim.address);
    shim.claimed(String(req.id));
    if (args.debug || process.env.RUNT_SHIM_LOG) shim.log(`claimed ${String(req.id)}`);
    return { address: shim.address };
  };
}

/** What a claim found at a socket path: a shim that took the container (and wrote its address
 *  file), nothing listening (`none`: no file; `stale`: a file nobody listens on), or a shim that
 *  refused (exiting, or not the container's) or did not answer (`refused`). `legacy`: a shim of a
 *  runt without Claim, which serves the path (the caller writes the address file). */
export type ClaimOutcome = 'claimed' | 'none' | 'stale' | 'refused' | 'legacy';

// `start`'s end encodes and reads its few fields itself (./wire.js), as the front does: a `start`
// that finds its shim does not load protobufjs and the generated messages (about 10 ms of its Node
// start).

/** ttrpc.Response's status code (google.rpc.Status.code; 0 when there is none). */
function statusCode(response: Buffer): number {
  const status = fields(response).get(1);
  return Buffer.isBuffer(status) ? Number(fields(status).get(1) ?? 0) : 0;
}

/** `start`'s end (Node): one Claim, answered within `timeoutMs`. No file at `path` is `none` at
 *  once, without node:net: the cold start (no shim of the group) loads net and streams only
 *  after it has given containerd the address, when it serves. */
export async function claimShim(path: string, args: ShimArgs, bundle: string, timeoutMs = 5000): Promise<ClaimOutcome> {
  if (!lstatSync(path, { throwIfNoEntry: false })) return 'none';
  const net = await import('node:net');
  const claim = Buffer.concat([field(1, args.id), field(2, args.namespace), field(3, args.address), field(4, bundle)]);
  const request = Buffer.concat([field(1, FRONT_SERVICE), field(2, 'Claim'), field(3, claim)]);
  return new Promise((resolve) => {
    let connected = false;
    const socket = net.connect(path);
    const done = (outcome: ClaimOutcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('refused'), timeoutMs);
    socket.once('connect', () => {
      connected = true;
      socket.write(encodeFrame({ streamId: 1, type: MESSAGE_TYPE.REQUEST, flags: 0, data: request }));
    });
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (frame.streamId !== 1 || frame.type !== MESSAGE_TYPE.RESPONSE) continue;
        let code: number;
        try {
          code = statusCode(frame.data);
        } catch {
          code = CODE.UNKNOWN;
        }
        done(code === CODE.OK ? 'claimed' : code === CODE.UNIMPLEMENTED ? 'legacy' : 'refused');
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) =>
      done(connected ? 'refused' : e.code === 'ENOENT' ? 'none' : e.code === 'ECONNREFUSED' ? 'stale' : 'refused'),
    );
    socket.on('close', () => done('refused'));
  });
}
