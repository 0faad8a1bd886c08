// What `create` and `exec` share: spawning the plan's first process, following it through a fork
// step, the handshake, killing and reaping it when anything fails, the trace event (with its hint)
// for a failed step, and the small writes both make for it (oom_score_adj, the pid file).
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { constants as osc } from 'node:os';
import { native, type ChildMessage } from '../native.js';
import type { BirthCgroups } from '../cgroups/index.js';
import { hintFor } from '../plan/hints.js';
import type { SpawnConfig, Step } from '../plan/steps.js';
import { RuntError, StepError } from '../errors.js';
import { writeProcFile } from '../security/procfs.js';
import { errnoName, handshake, type HandshakeSide, type TraceEvent } from './handshake.js';

/** The process a plan starts, followed through a fork step (MSG_PID: a new pid and pidfd). */
export class SpawnedProcess {
  pid: number;
  pidfd: number;
  private sockOwned = true;

  private constructor(
    readonly sock: number,
    private readonly firstPidfd: number,
    firstPid: number,
  ) {
    this.pid = firstPid;
    this.pidfd = firstPidfd;
  }

  /** spawnAsync(plan); the birth fds are closed once the child has them. */
  static async spawn(plan: SpawnConfig, birth: BirthCgroups | null): Promise<SpawnedProcess> {
    try {
      const child = await native().spawnAsync(plan);
      return new SpawnedProcess(child.sock, child.pidfd, child.pid);
    } finally {
      birth?.close();
    }
  }

  /** Run the handshake with `side` (which gets the pid tracking from here); throws what it ends
   *  with. Afterwards the intermediate of a fork step, if any, is reaped. */
  async handshake(side: Omit<HandshakeSide, 'onPid' | 'pid'>): Promise<void> {
    const failure = await handshake(this.sock, {
      ...side,
      onPid: (pid, pidfd) => {
        this.pid = pid;
        this.pidfd = pidfd;
      },
      pid: () => this.pid,
    });
    if (failure) throw failure;
    if (this.pidfd !== this.firstPidfd) await reap(this.firstPidfd);
  }

  /** The sync socket, handed to the caller (who closes it): killAndReap no longer closes it. */
  releaseSocket(): number {
    this.sockOwned = false;
    return this.sock;
  }

  /** After a failure: SIGKILL the process (and the intermediate of a fork step), reap them, close
   *  the socket unless it was handed over. */
  async killAndReap(): Promise<void> {
    const n = native();
    for (const fd of new Set([this.firstPidfd, this.pidfd])) {
      if (fd < 0) continue;
      try {
        n.pidfdSendSignal(fd, osc.signals.SIGKILL);
      } catch {
        /* already gone */
      }
      await reap(fd);
    }
    if (this.sockOwned) n.close(this.sock);
    this.sockOwned = false;
  }
}

/** A trace event for a step that failed, with the hint for its errno. Index -1 is the process's
 *  start-up before step 0 (joining its cgroups, stdio, the fd layout). */
export function failedStepEvent(steps: readonly Step[], userNamespace: boolean, index: number, errno: string, message: string): TraceEvent {
  const step = steps[index] ?? startUp(index, message);
  const hint = step && hintFor({ op: step.op, errno, userNamespace, fstype: step.op === 'mount' ? step.fstype : undefined });
  return { index, op: step?.op ?? '?', field: step?.field ?? '?', usec: 0, error: errno || 'failed', message: message || undefined, hint };
}

function startUp(index: number, message: string): { op: string; field: string; fstype?: undefined } | undefined {
  if (index !== -1) return undefined;
  return { op: 'start-up', field: message.startsWith('linux.cgroupsPath') ? 'linux.cgroupsPath' : 'runtime (init start-up)' };
}

/** HandshakeSide.stepFailed for both: trace the failure (with its hint) and name its field. */
export function stepFailure(
  steps: readonly Step[],
  userNamespace: boolean,
  msg: ChildMessage,
  onTrace?: (e: TraceEvent) => void,
): StepError {
  const failed = failedStepEvent(steps, userNamespace, msg.step, errnoName(msg.errno), msg.text);
  onTrace?.(failed);
  const text = msg.text.startsWith(`${failed.field}: `) ? msg.text.slice(failed.field.length + 2) : msg.text;
  return new StepError(msg.step, failed.field, msg.errno, errnoName(msg.errno), text || failed.op);
}

/** process.oomScoreAdj, written by the runtime (lowering it needs CAP_SYS_RESOURCE, which the
 *  container's process may not keep). `field` names where the value came from in an error. */
export function writeOomScoreAdj(pid: number, value: number, field = 'process.oomScoreAdj'): void {
  try {
    writeProcFile(`${pid}/oom_score_adj`, String(value));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    // The kernel refuses a value below the minimum the process inherited (which runt's own value
    // is not below) unless the writer has CAP_SYS_RESOURCE.
    if (code === 'EACCES') {
      throw new RuntError(
        'EINVALID_SPEC',
        `${field}: ${value} is lower than runt may set without CAP_SYS_RESOURCE (runt's own oom_score_adj is ${ownOomScoreAdj()}): EACCES`,
      );
    }
    throw new RuntError('EINVALID_SPEC', `${field}: writing ${value} to /proc/${pid}/oom_score_adj failed: ${code}`);
  }
}

function ownOomScoreAdj(): string {
  try {
    return readFileSync('/proc/self/oom_score_adj', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** --pid-file: written whole or not at all (a temporary file renamed over it). */
export function writePidFile(path: string, pid: number): void {
  const abs = resolve(path);
  const tmp = join(dirname(abs), `.${process.pid}.pid.tmp`);
  writeFileSync(tmp, String(pid));
  renameSync(tmp, abs);
}

/** Wait for a process we are the parent of to end, and collect it. */
export async function reap(pidfd: number): Promise<{ code: number | null; signal: number | null }> {
  const n = native();
  for (;;) {
    const st = n.waitPidfd(pidfd);
    if (st) {
      n.close(pidfd);
      return st;
    }
    await n.whenReadable(pidfd);
  }
}
