// Measurements of one runtime's command line: each function starts the runtime the way an engine
// does (a new process per operation) and returns milliseconds or kilobytes. The same functions run
// in the bench's own process and in a worker inside a private mount namespace (crun), so every
// runtime is timed by identical code.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** How to call one runtime: the argv prefix up to and including its global flags (`--root`). */
export interface Cli {
  name: string;
  argv: string[];
}

/** Every child gets this environment: NODE_EXTRA_CA_CERTS triples Node's start-up here. */
export function benchEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

const STDERR_FILE = `/tmp/runt-bench-stderr-${process.pid}`;
process.on('exit', () => rmSync(STDERR_FILE, { force: true }));

/** Run argv to completion; its wall time in ms. A non-zero exit is an error (with its stderr).
 *  stderr goes to a file, never a pipe: a container made by `create` inherits it and would hold a
 *  pipe open until it exits. */
export function timeCommand(argv: string[], allowFail = false): number {
  const errFd = openSync(STDERR_FILE, 'w');
  let ms: number;
  let r;
  try {
    const t0 = process.hrtime.bigint();
    r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', errFd], env: benchEnv() });
    ms = Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    closeSync(errFd);
  }
  if (r.error) throw r.error;
  if (r.status !== 0 && !allowFail) {
    const why = readFileSync(STDERR_FILE, 'utf8').trim().split('\n').pop();
    throw new Error(`${argv.join(' ')}: exit ${r.status ?? r.signal}: ${why}`);
  }
  return ms;
}

/** Peak RSS (KB) of the process argv starts, from wait4's rusage as /usr/bin/time reports it. */
export function peakRssKb(argv: string[]): number {
  const dir = mkdtempSync('/tmp/runt-bench-time-');
  try {
    const out = join(dir, 'rss');
    timeCommand(['/usr/bin/time', '-f', '%M', '-o', out, ...argv]);
    return Number(readFileSync(out, 'utf8').trim().split('\n').pop());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Until pid has exited (gone or a zombie waiting for a lazy reaper). The bench may poll; runt may not. */
export function waitExit(pid: number, timeoutMs = 5000): void {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return;
    }
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return;
    if (Date.now() > deadline) throw new Error(`process ${pid} did not exit`);
    sleepMs(1);
  }
}

function pidFromFile(file: string): number {
  return Number(readFileSync(file, 'utf8').trim());
}

export function runLatency(cli: Cli, bundle: string, id: string): number {
  return timeCommand([...cli.argv, 'run', '--bundle', bundle, id]);
}

export interface Lifecycle {
  create: number;
  start: number;
  delete: number;
}

/** create, start, (the container's /bin/true exits), delete: each timed on its own. */
export function lifecycle(cli: Cli, bundle: string, id: string, scratch: string): Lifecycle {
  const pidFile = join(scratch, `${id}.pid`);
  const create = timeCommand([...cli.argv, 'create', '--bundle', bundle, '--pid-file', pidFile, id]);
  const pid = pidFromFile(pidFile);
  const start = timeCommand([...cli.argv, 'start', id]);
  waitExit(pid);
  const del = timeCommand([...cli.argv, 'delete', id]);
  rmSync(pidFile, { force: true });
  return { create, start, delete: del };
}

/** A running container (its process sleeps) for exec, state and kill; returns its init's pid. */
export function startLongRunning(cli: Cli, bundle: string, id: string, scratch: string): number {
  const pidFile = join(scratch, `${id}.pid`);
  timeCommand([...cli.argv, 'create', '--bundle', bundle, '--pid-file', pidFile, id]);
  timeCommand([...cli.argv, 'start', id]);
  return pidFromFile(pidFile);
}

export function execLatency(cli: Cli, id: string): number {
  return timeCommand([...cli.argv, 'exec', id, '/bin/true']);
}

/** Commands that only read or signal: `state ID`, `kill ID CONT` on a running container. */
export function stateLatency(cli: Cli, id: string): number {
  return timeCommand([...cli.argv, 'state', id]);
}

export function killLatency(cli: Cli, id: string): number {
  return timeCommand([...cli.argv, 'kill', id, 'CONT']);
}

export function forceDelete(cli: Cli, id: string): void {
  timeCommand([...cli.argv, 'delete', '--force', id], true);
}

/** `loops` concurrent loops of `run`, `perLoop` containers each; containers per second. */
export async function parallelThroughput(cli: Cli, bundle: string, idPrefix: string, loops: number, perLoop: number): Promise<number> {
  const runAsync = (id: string) =>
    new Promise<void>((resolve, reject) => {
      const argv = [...cli.argv, 'run', '--bundle', bundle, id];
      const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], env: benchEnv() });
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d;
      });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')}: exit ${code}: ${err.trim()}`))));
    });
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: loops }, async (_, l) => {
      for (let i = 0; i < perLoop; i++) await runAsync(`${idPrefix}-${l}-${i}`);
    }),
  );
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return (loops * perLoop) / s;
}

export interface InitMemory {
  rssKb: number;
  pssKb: number;
}

/** RSS and PSS of a parked init (after `create`, before `start`), from /proc/PID/smaps_rollup. */
export function parkedInitMemory(cli: Cli, bundle: string, id: string, scratch: string): InitMemory {
  const pidFile = join(scratch, `${id}.pid`);
  timeCommand([...cli.argv, 'create', '--bundle', bundle, '--pid-file', pidFile, id]);
  try {
    return smapsRollup(pidFromFile(pidFile));
  } finally {
    forceDelete(cli, id);
    rmSync(pidFile, { force: true });
  }
}

export function smapsRollup(pid: number): InitMemory {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rssKb: field('Rss'), pssKb: field('Pss') };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function exists(path: string): boolean {
  return existsSync(path);
}

/** The kernel floor: namespaces, a fresh /proc and chroot, no runtime at all. */
export function floorArgv(rootfs: string): string[] {
  return ['unshare', '--fork', '--pid', '--mount', '--uts', '--ipc', '--net', '--mount-proc', 'chroot', rootfs, '/bin/true'];
}

/** `loops` concurrent loops of the floor command, `perLoop` each; runs per second. */
export async function floorThroughput(rootfs: string, loops: number, perLoop: number): Promise<number> {
  const argv = floorArgv(rootfs);
  const once = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore', env: benchEnv() });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`floor: exit ${code}`))));
    });
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: loops }, async () => {
      for (let i = 0; i < perLoop; i++) await once();
    }),
  );
  return (loops * perLoop) / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/** Whether `run` of the bundle succeeds (for bundles at the edge, e.g. a 4 MiB memory limit). */
export function runSucceeds(cli: Cli, bundle: string, id: string): boolean {
  try {
    timeCommand([...cli.argv, 'run', '--bundle', bundle, id]);
    return true;
  } catch {
    forceDelete(cli, id);
    return false;
  }
}

/** CPU time (user + system, ms) of this process's waited-for children so far, from /proc/self/stat
 *  (cutime, cstime: it includes their own waited-for children, e.g. a container's init). Clock ticks
 *  are 10 ms, so it is only good summed over many runs. */
export function childrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** Mean CPU time (ms) per command, each argv run to completion in turn: a measure that, unlike wall
 *  time, a busy machine disturbs little. */
export function commandsCpuMs(argvs: string[][]): number {
  const before = childrenCpuMs();
  for (const argv of argvs) timeCommand(argv);
  return (childrenCpuMs() - before) / argvs.length;
}
