// Where a measurement runs: in the bench's own process, or in a worker process (bench/worker.ts) —
// plain for the library, inside `unshare -m` with a private tmpfs over the cgroup2 mount for crun,
// which refuses hybrid cgroup hosts. The tmpfs exists only in the worker's mount namespace.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as measure from './measure.js';
import type { Answer } from './worker.js';

export interface Runner {
  call<T>(op: string, ...args: unknown[]): Promise<T>;
  close(): Promise<void>;
}

/** Every function measure.ts exports is an op, run here by name or by a worker (worker.ts). */
const LOCAL = measure as unknown as Record<string, unknown>;

export function localRunner(): Runner {
  return {
    call: async <T>(op: string, ...args: unknown[]) => {
      const fn = LOCAL[op];
      if (typeof fn !== 'function') throw new Error(`unknown local op ${op}`);
      return (await (fn as (...a: unknown[]) => unknown)(...args)) as T;
    },
    close: async () => {},
  };
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/** A worker process; with `privateCgroup2` it runs in a new mount namespace whose cgroup2 mount
 *  (hybrid hosts: /sys/fs/cgroup/unified) is covered by an empty tmpfs. */
export function workerRunner(opts: { privateCgroup2?: boolean } = {}): Runner {
  const node = [process.execPath, WORKER];
  let argv = node;
  if (opts.privateCgroup2) {
    const cover = existsSync('/sys/fs/cgroup/unified') ? 'mount -t tmpfs none /sys/fs/cgroup/unified && ' : '';
    argv = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `${cover}exec "$0" "$@"`, ...node];
  }
  const child: ChildProcessWithoutNullStreams = spawn(argv[0], argv.slice(1), { env: measure.benchEnv(), stdio: 'pipe' });
  child.stderr.on('data', (d: Buffer) => process.stderr.write(`worker: ${d}`));
  const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  let queue = Promise.resolve();
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  return {
    call: <T>(op: string, ...args: unknown[]) => {
      const result = queue.then(async () => {
        child.stdin.write(`${JSON.stringify({ op, args })}\n`);
        const next = await answers.next();
        if (next.done) throw new Error(`worker exited during ${op}`);
        const a = JSON.parse(next.value) as Answer;
        if (!a.ok) throw new Error(a.error);
        return a.value as T;
      });
      queue = result.then(
        () => {},
        () => {},
      );
      return result;
    },
    close: async () => {
      child.stdin.end();
      await exited;
    },
  };
}
