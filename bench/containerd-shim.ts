// `node dist/bench/containerd-shim.js [--iterations N] [--group-size K]`: runt under containerd, end
// to end, as `ctr run --rm IMAGE id true` — runc through containerd's runc shim, runt through the
// runc shim (BinaryName = runt, today's path), and runt's own shim (io.containerd.runt.v2) cold (no
// shim running: the namespace's shared shim is ended before each such run) and warm (the shared
// shim lingering from the run before, the steady state) — plus the same with the shim of the
// container's group already running (a pod's second container), all interleaved on one image; then
// the memory of the lingering shared shim, and the peak memory of a runt shim and of a runc shim
// serving 1 and K containers. containerd is started here with its own root, state and socket (CRI off) in a
// private mount namespace, and stopped at the end. NODE_EXTRA_CA_CERTS and NODE_OPTIONS are unset
// for containerd and so for every shim and runt it starts. Prints a markdown table.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchEnv, median } from './measure.js';
import { recordCgroups, removeNewCgroupsPatiently } from './engine-cgroups.js';
import { takeContainerdLock } from './containerd-lock.js';
import { buildBusyboxImage } from './busybox-image.js';
import { describeMachine, loadNow } from './report.js';
import { containerdConfig } from './containerd-config.js';
import { removeEmptyTreesPatiently } from './empty-dirs.js';
import { shimPids } from './containerd-shims.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const IMAGE = 'localhost/runt-bench-busybox:latest';
const { values: flags } = parseArgs({
  options: { iterations: { type: 'string', short: 'n', default: '15' }, 'group-size': { type: 'string', default: '20' } },
});
const ITERATIONS = Number(flags.iterations);
const GROUP = Number(flags['group-size']);

const dir = mkdtempSync('/tmp/runt-bench-ctd-');
const sock = join(dir, 'containerd.sock');
const bin = join(dir, 'bin');
mkdirSync(bin);
symlinkSync(join(REPO, 'build/Release/containerd-shim-runt-v2'), join(bin, 'containerd-shim-runt-v2')); // as install.sh links it
writeFileSync(join(dir, 'config.toml'), containerdConfig({ dir, sock }));
// Tests and the other containerd benches wait while this runs (bench/containerd-lock.ts).
const containerdLock = await takeContainerdLock();
// containerd's namespace `default` is the parent of its containers' cgroups in every hierarchy: what
// exists now is someone else's; what appears, this bench removes at the end (once empty).
const cgroups = recordCgroups(['default']);
// The shims' directories (runc's and runt's state of namespace `default`, the sockets): removed at
// the end when this bench made them and they are empty.
const runDirsBefore = [
  '/run/containerd/runc/default',
  '/run/containerd/runc',
  '/run/containerd/runt/default',
  '/run/containerd/runt',
  '/run/containerd/s',
  '/run/containerd',
].filter((d) => !existsSync(d));
const env = { ...benchEnv(), PATH: `${bin}:${process.env.PATH}` };

const holder: ChildProcess = spawn('unshare', ['-m', '--propagation', 'private', 'sleep', '3600'], { stdio: 'ignore' });
const sleepMs = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const fifoDir = join(dir, 'fifo'); // ctr's fifos: here, not under /run/containerd/fifo
const ctr = (args: string[]) =>
  spawnSync('ctr', ['--address', sock, ...(args[0] === 'run' ? ['run', '--fifo-dir', fifoDir, ...args.slice(1)] : args)], {
    encoding: 'utf8',
    env,
  });
let daemon: ChildProcess | undefined;

const runningShims = (): number[] => shimPids(sock, 'all');

async function cleanup(): Promise<void> {
  for (const pid of runningShims()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  daemon?.kill('SIGKILL');
  holder.kill('SIGKILL');
  sleepMs(500);
  await removeEmptyTreesPatiently(runDirsBefore);
  const stayed = await removeNewCgroupsPatiently(cgroups);
  if (stayed.length) process.stderr.write(`bench: cgroup directories still in use, left in place: ${stayed.join(', ')}\n`);
  rmSync(dir, { recursive: true, force: true });
  if (containerdLock !== undefined) closeSync(containerdLock);
}

function timeRun(args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ctr', ['--address', sock, 'run', '--fifo-dir', fifoDir, '--rm', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env,
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`ctr run ${args.join(' ')}: ${r.stderr.trim()}`);
  return ms;
}

const COLD = "runt's shim (io.containerd.runt.v2), cold: no shim running";
const WARM = "runt's shim, warm: the namespace's shared shim lingering";

/** runt's shims other than the groups' (keep-runt, mem-runt-*): the namespace's shared shim. */
function sharedShims(): number[] {
  return shimPids(sock, 'runt').filter((p) => {
    try {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      return !cmd.includes('-id\0keep-runt\0') && !cmd.includes('-id\0mem-runt-');
    } catch {
      return false; // gone
    }
  });
}

/** Ends the lingering shared shim (SIGTERM ends a shim with no task), waits for it to be gone
 *  (reaped), and lets its exit settle: a cold run measures a start, not a neighbour's teardown. */
function endSharedShim(): void {
  const pids = sharedShims();
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 500 && pids.some((p) => existsSync(`/proc/${p}`)); i++) sleepMs(10);
  if (pids.some((p) => existsSync(`/proc/${p}`))) throw new Error('the shared shim did not exit on SIGTERM');
  if (pids.length) sleepMs(200);
}

/** VmHWM (peak RSS) and VmRSS of a process, in KB. */
function memory(pid: number): { peak: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
  return { peak: kb('VmHWM'), rss: kb('VmRSS') };
}

/** Starts `n` long-running containers in one group; the memory of the group's shim after 1 and n. */
function groupMemory(
  runtimeArgs: string[],
  label: string,
  prefix: string,
  n: number,
): { one: { peak: number; rss: number }; many: { peak: number; rss: number } } {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  let one = { peak: NaN, rss: NaN };
  let pid = 0;
  try {
    ids.forEach((id, i) => {
      const r = ctr(['run', '-d', ...runtimeArgs, '--annotation', `${label}=${prefix}`, IMAGE, id, 'sleep', '1000']);
      if (r.status !== 0) throw new Error(`ctr run -d ${id}: ${r.stderr.trim()}`);
      if (i === 0) {
        sleepMs(500);
        pid = runningShims()[0];
        one = memory(pid);
      }
    });
    sleepMs(500);
    return { one, many: memory(pid) };
  } finally {
    for (const id of ids) ctr(['task', 'kill', '-s', 'SIGKILL', id]);
    sleepMs(1000);
    for (const id of ids) {
      ctr(['task', 'delete', id]);
      ctr(['container', 'delete', id]);
    }
  }
}

try {
  const loadBefore = loadNow();
  daemon = spawn('nsenter', [`--mount=/proc/${holder.pid}/ns/mnt`, 'containerd', '--config', join(dir, 'config.toml')], {
    stdio: 'ignore',
    env,
  });
  for (let i = 0; i < 300 && ctr(['version']).status !== 0; i++) sleepMs(100);
  const imported = ctr(['images', 'import', buildBusyboxImage(dir, IMAGE, join(REPO, 'examples/busybox/rootfs'))]);
  if (imported.status !== 0) throw new Error(`image import: ${imported.stderr}`);

  // Keep-alive members of two groups: their shims stay up, so the grouped runs find them.
  for (const [args, label, id] of [
    [['--runtime', 'io.containerd.runt.v2'], 'io.containerd.runt.v2.group', 'keep-runt'],
    [[], 'io.containerd.runc.v2.group', 'keep-runc'],
  ] as const) {
    const r = ctr(['run', '-d', ...args, '--annotation', `${label}=${id}`, IMAGE, id, 'sleep', '100000']);
    if (r.status !== 0) throw new Error(`keep-alive ${id}: ${r.stderr}`);
  }
  const variants: Array<[string, (i: number) => string[]]> = [
    ['runc (containerd-shim-runc-v2)', (i) => [IMAGE, `runc-${i}`, 'true']],
    ['runt via the runc shim (BinaryName = runt)', (i) => ['--runc-binary', join(REPO, 'bin/runt.cjs'), IMAGE, `runtc-${i}`, 'true']],
    [COLD, (i) => ['--runtime', 'io.containerd.runt.v2', IMAGE, `runts-${i}`, 'true']],
    [WARM, (i) => ['--runtime', 'io.containerd.runt.v2', IMAGE, `runtw-${i}`, 'true']],
    ["runc shim, its group's shim running", (i) => ['--annotation', 'io.containerd.runc.v2.group=keep-runc', IMAGE, `runcg-${i}`, 'true']],
    [
      "runt's shim, its group's shim running",
      (i) => ['--runtime', 'io.containerd.runt.v2', '--annotation', 'io.containerd.runt.v2.group=keep-runt', IMAGE, `runtg-${i}`, 'true'],
    ],
  ];
  const times = variants.map(() => [] as number[]);
  for (let i = -2; i < ITERATIONS; i++) {
    variants.forEach(([name, args], v) => {
      if (name === COLD) endSharedShim();
      const ms = timeRun(args(i + 2));
      if (i >= 0) times[v].push(ms);
    });
  }
  // The namespace's shared shim, lingering after its last container: its memory now.
  const lingering = sharedShims();
  const lingeringMem = lingering.length === 1 ? memory(lingering[0]) : { peak: NaN, rss: NaN };
  endSharedShim();
  for (const id of ['keep-runt', 'keep-runc']) {
    ctr(['task', 'kill', '-s', 'SIGKILL', id]);
  }
  sleepMs(1000);
  for (const id of ['keep-runt', 'keep-runc']) {
    ctr(['task', 'delete', id]);
    ctr(['container', 'delete', id]);
  }
  const runtMem = groupMemory(['--runtime', 'io.containerd.runt.v2'], 'io.containerd.runt.v2.group', 'mem-runt', GROUP);
  const runcMem = groupMemory([], 'io.containerd.runc.v2.group', 'mem-runc', GROUP);

  const runc = median(times[0]);
  const m = describeMachine(loadBefore);
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  console.log(
    [
      `- date: ${m.date}; machine: ${m.cpu}, ${m.nproc} CPUs, kernel ${m.kernel}, Node ${m.node}; ${spawnSync('containerd', ['--version'], { encoding: 'utf8' }).stdout.trim()}; ${m.runc ?? ''}`,
      `- load average before: ${m.loadBefore}, after: ${m.loadAfter}`,
      `- medians of ${ITERATIONS} interleaved iterations (after 2 warm-ups) of \`ctr run --rm ${IMAGE} ID true\`; NODE_EXTRA_CA_CERTS and NODE_OPTIONS unset for containerd and everything it starts`,
      '',
      '| path | ms (median) | × runc |',
      '| --- | ---: | ---: |',
      ...variants.map(([name], v) => `| ${name} | ${median(times[v]).toFixed(0)} | ${(median(times[v]) / runc).toFixed(2)} |`),
      '',
      `| shim memory (MB) | 1 container: peak RSS | ${GROUP} containers: peak RSS | ${GROUP} containers: RSS |`,
      '| --- | ---: | ---: | ---: |',
      `| containerd-shim-runt-v2 (one shim per group) | ${mb(runtMem.one.peak)} | ${mb(runtMem.many.peak)} | ${mb(runtMem.many.rss)} |`,
      `| containerd-shim-runt-v2, the namespace's shared shim lingering after ${ITERATIONS + 2} containers (no task) | | peak ${mb(lingeringMem.peak)} | ${mb(lingeringMem.rss)} |`,
      `| containerd-shim-runc-v2 (one shim per group) | ${mb(runcMem.one.peak)} | ${mb(runcMem.many.peak)} | ${mb(runcMem.many.rss)} |`,
    ].join('\n'),
  );
} finally {
  await cleanup();
}
