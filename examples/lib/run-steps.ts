// The smallest use of runt's addon: hand it a list of steps (src/plan/steps.ts), let it clone3 a
// child that carries them out, and play the parent's side of the sync socket. Every example uses this;
// the full container (11-container.ts) uses the Runtime instead, which does the same with more steps.
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { constants as osc, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLONE, MSG, errnoName, hintFor, native, reap, type Step } from '../../src/building-blocks.js';

export interface RunOptions {
  /** CLONE_NEW* flags: the namespaces the child is born in. */
  cloneFlags?: number;
  steps: Step[];
  /** The child stopped at a `sync` step: do the parent's part (it resumes when this returns). */
  atSync?: (pid: number, tag: number) => void | Promise<void>;
  /** The child has exec'd (its end of the socket closed): look at it while it runs. */
  afterExec?: (pid: number) => void | Promise<void>;
  /** Collect the child's stdout and stderr instead of letting them through. */
  capture?: boolean;
}

export interface StepFailure {
  step: number;
  op: string;
  errno: string;
  message: string;
  hint?: string;
}

export interface RunResult {
  /** Pid of the process that ran the steps (after a fork step: the new one). */
  pid: number;
  code: number | null;
  signal: string | null;
  output: string;
  failure?: StepFailure;
}

const SIGNAL_NAMES = new Map(Object.entries(osc.signals).map(([k, v]) => [v, k]));

export async function runSteps(opts: RunOptions): Promise<RunResult> {
  const n = native();
  const dir = opts.capture ? mkdtempSync(join(tmpdir(), 'runt-example-')) : undefined;
  const outFd = dir ? openSync(join(dir, 'out'), 'w+') : -1;
  try {
    const child = n.spawn({
      cloneFlags: opts.cloneFlags ?? 0,
      stdio: [-1, outFd, outFd],
      preserveFds: 0,
      trace: false,
      // If this program dies, so does the child: an example must never leave processes behind.
      pdeathSig: osc.signals.SIGKILL,
      steps: opts.steps,
    });
    let pid = child.pid;
    let pidfd = child.pidfd;
    let failure: StepFailure | undefined;
    for (;;) {
      const msg = n.recv(child.sock);
      if (!msg) {
        await n.whenReadable(child.sock);
        continue;
      }
      if (msg.type === 0) break; // end of file: the child exec'd or died
      if (msg.type === MSG.SYNC) {
        try {
          await opts.atSync?.(pid, msg.pid);
          n.ack(child.sock);
        } catch (e) {
          n.abort(child.sock);
          throw e;
        }
      } else if (msg.type === MSG.PID) {
        pid = msg.pid; // a fork step made the process that goes on; the first one exits
        pidfd = msg.fd;
      } else if (msg.type === MSG.ERROR) {
        const step = opts.steps[msg.step];
        const errno = errnoName(msg.errno);
        failure = {
          step: msg.step,
          op: step?.op ?? '?',
          errno,
          message: msg.text,
          hint:
            step &&
            hintFor({
              op: step.op,
              errno,
              userNamespace:
                ((opts.cloneFlags ?? 0) & CLONE.NEWUSER) !== 0 ||
                opts.steps.some((s) => s.op === 'unshare' && (s.flags & CLONE.NEWUSER) !== 0),
            }),
        };
      } else if (msg.fd >= 0) {
        n.close(msg.fd);
      }
    }
    n.close(child.sock);
    if (!failure) await opts.afterExec?.(pid);
    const status = await reap(pidfd);
    if (pidfd !== child.pidfd) await reap(child.pidfd);
    return {
      pid,
      code: status.code,
      signal: status.signal === null ? null : (SIGNAL_NAMES.get(status.signal) ?? String(status.signal)),
      output: dir ? readFileSync(join(dir, 'out'), 'utf8') : '',
      failure,
    };
  } finally {
    if (outFd >= 0) closeSync(outFd);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
