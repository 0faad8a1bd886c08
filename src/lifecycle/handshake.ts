// The runtime's side of the message loop with a child the addon spawned (the container's init for
// `create`, a new process for `exec`): what both share is here, what differs (sync points, what a
// failed step or end-of-file means) comes from the caller's `HandshakeSide`.
import { constants as osc } from 'node:os';
import type { State } from '../spec/types.js';
import { MSG, FD_TAG } from '../plan/steps.js';
import { native, type ChildMessage } from '../native.js';
import { containerProcessState, sendToSeccompAgent } from '../security/seccomp-agent.js';
import { RuntError } from '../errors.js';

export interface TraceEvent {
  index: number;
  op: string;
  field: string;
  /** The step's own duration, measured by the init (for `exec`, by the runtime: from the previous
   *  report to the end-of-file a successful execve causes); 0 for a failed step. */
  usec: number;
  /** errno name when the step failed ("failed" when there is none, e.g. a hook's exit status). */
  error?: string;
  /** What the init (or the runtime, at a sync step) said about the failure: "mount proc on /proc". */
  message?: string;
  /** What the errno most likely means for this step (src/plan/hints.ts). */
  hint?: string;
}

const ERRNO_NAMES = new Map(Object.entries(osc.errno as Record<string, number>).map(([k, v]) => [v, k]));
export const errnoName = (n: number) => (n ? (ERRNO_NAMES.get(n) ?? `errno ${n}`) : '');

/** A protocol error a side raises from `sync` (an unknown tag): the child is aborted, no trace. */
export class ProtocolError extends RuntError {
  constructor(message: string) {
    super('EPROTO', message);
  }
}

export interface HandshakeSide {
  /** The child in error messages: "container init", "exec process". */
  peer: string;
  steps: ReadonlyArray<{ op: string; field: string }>;
  onTrace?: (event: TraceEvent) => void;
  consoleSocket?: string;
  onTerminal?: (masterFd: number) => void;
  /** MSG_PID: the process a fork step made (the one that goes on) and its pidfd. */
  onPid(pid: number, pidfd: number): void;
  /** The current pid of the child (for the seccomp agent). */
  pid(): number;
  /** A step failed in the child: report it and return the error the handshake ends with. */
  stepFailed(msg: ChildMessage): Error;
  /** MSG_SYNC: the runtime's part; resolves with the ACK's payload (undefined: none). A throw
   *  aborts the child and ends the handshake with that error; a ProtocolError for an unknown tag. */
  sync(tag: number, step: number): Promise<string | undefined> | string | undefined;
  /** Reports a sync step that failed on the runtime's side (create traces it). */
  syncFailed?(step: number, e: unknown): void;
  /** The seccomp agent to send a listener to (linux.seccomp.listenerPath), with the state it gets. */
  seccompAgent?: { listenerPath: string; metadata?: string; state(): State };
  /** MSG_PARKED ends the handshake (create); otherwise it is a protocol error. */
  parks: boolean;
  /** End-of-file: what it means when no step failed (create: the init died; exec: it exec'd). */
  eof(): Error | undefined;
}

/** Runs the parent's side until the child parks (create) or execs (end-of-file). Returns the error
 *  that ended it, if any. */
export async function handshake(sock: number, side: HandshakeSide): Promise<Error | undefined> {
  const n = native();
  let stepError: Error | undefined;
  for (;;) {
    const msg = n.recv(sock);
    if (!msg) {
      await n.whenReadable(sock);
      continue;
    }
    switch (msg.type) {
      case 0:
        return stepError ?? side.eof();
      case MSG.ERROR:
        stepError = side.stepFailed(msg);
        break;
      case MSG.PID:
        side.onPid(msg.pid, msg.fd);
        break;
      case MSG.TRACE: {
        const step = side.steps[msg.step];
        side.onTrace?.({ index: msg.step, op: step.op, field: step.field, usec: Number(msg.usec) });
        break;
      }
      case MSG.SYNC:
        try {
          const payload = await side.sync(msg.pid, msg.step);
          if (payload === undefined) n.ack(sock);
          else n.ack(sock, payload);
        } catch (e) {
          if (!(e instanceof ProtocolError)) side.syncFailed?.(msg.step, e);
          n.abort(sock);
          return e as Error;
        }
        break;
      case MSG.FD: {
        const failure = receiveFd(msg, side);
        if (failure) return failure;
        break;
      }
      case MSG.PARKED:
        if (side.parks) return stepError;
        return unexpected(msg, side);
      default:
        return unexpected(msg, side);
    }
  }
}

function unexpected(msg: ChildMessage, side: HandshakeSide): Error {
  return new RuntError('EPROTO', `unexpected message ${msg.type} from the ${side.peer}`);
}

/** MSG_FD: the pty master goes to the console socket (or onTerminal); a seccomp listener to the
 *  agent. Returns the error that ends the handshake, if any. */
function receiveFd(msg: ChildMessage, side: HandshakeSide): Error | undefined {
  const n = native();
  if (msg.pid === FD_TAG.TERMINAL) {
    try {
      if (side.consoleSocket) n.sendFd(side.consoleSocket, msg.fd, 'pty');
      else side.onTerminal?.(msg.fd);
    } catch (e) {
      n.close(msg.fd);
      return new RuntError('ECONSOLE', `--console-socket ${side.consoleSocket}: ${(e as Error).message}`);
    }
    if (side.consoleSocket) n.close(msg.fd);
  } else if (msg.pid === FD_TAG.SECCOMP_LISTENER && side.seccompAgent) {
    const agent = side.seccompAgent;
    try {
      sendToSeccompAgent(agent.listenerPath, msg.fd, containerProcessState(agent.state(), side.pid(), agent.metadata));
    } catch (e) {
      return e as Error;
    } finally {
      n.close(msg.fd);
    }
  } else if (msg.fd >= 0) {
    n.close(msg.fd);
  }
  return undefined;
}
