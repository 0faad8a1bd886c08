// `node dist/bench/cri.js [-n N] [--no-write]` (root; containerd installed): under containerd's CRI
// plugin, driven as the kubelet drives it (bench/cri-containerd.ts), the time from CreateContainer
// to the container's process running, for a pod's second container (the pause container is the
// first): runc (handler runc, containerd's runc shim), runt through containerd's runc shim (handler
// runtc: BinaryName = runt, the path before runt had a shim) and runt's shim (handler runt,
// runtime_type io.containerd.runt.v2). Each handler runs one pod (RunPodSandbox timed apart, once); then each
// iteration, per handler: CreateContainer + StartContainer + ContainerStatus until RUNNING (timed),
// StopContainer + RemoveContainer (not timed). Interleaved with the same iterations: the library's
// own create + start of a bundle of the same rootfs in a long-lived Node process (bench/library.ts,
// in a worker), and the round trip of a trivial ttrpc call (Connect, State) through src/shim's
// client to the runt pod's running shim. NODE_EXTRA_CA_CERTS and NODE_OPTIONS are unset for
// containerd and everything it starts, and for the library's worker. Prints a markdown section and
// writes it into docs/PERFORMANCE.md between its markers.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultSpec } from '../src/spec/default.js';
import { socketPath } from '../src/shim/address.js';
import { TtrpcClient } from '../src/shim/ttrpc-client.js';
import { CriContainerd, podNetwork } from './cri-containerd.js';
import { takeContainerdLock } from './containerd-lock.js';
import { benchEnv, median } from './measure.js';
import { describeMachine, loadNow, writeGeneratedSection } from './report.js';
import { workerRunner } from './runners.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ROOTFS = join(REPO, 'examples/busybox/rootfs');
const FRONT = join(REPO, 'build/Release/containerd-shim-runt-v2');
const IMAGE = 'localhost/runt-bench-cri-busybox:latest';
const PAUSE = 'localhost/runt-bench-cri-pause:latest';
const TASK = 'containerd.task.v2.Task';
const { values: flags } = parseArgs({
  options: {
    iterations: { type: 'string', short: 'n', default: '15' },
    'no-write': { type: 'boolean', default: false },
    'shim-log': { type: 'boolean', default: false },
  },
});
const ITERATIONS = Number(flags.iterations);
const WARMUP = 2;
const RTT_CALLS = 20; // ttrpc calls per iteration and method

/** The CRI handlers measured; `runtime` says whose state stop() removes if a container is left. */
const HANDLERS = [
  { name: 'runc', title: 'runc (handler runc: containerd-shim-runc-v2)', runtime: 'runc' as const, type: 'io.containerd.runc.v2' },
  {
    name: 'runtc',
    title: "runt through containerd's runc shim (handler runtc: BinaryName = runt)",
    runtime: 'runt-cli' as const,
    type: 'io.containerd.runc.v2',
    options: { BinaryName: join(REPO, 'bin/runt.cjs') },
  },
  { name: 'runt', title: "runt's shim (handler runt: io.containerd.runt.v2)", runtime: 'runt' as const, type: 'io.containerd.runt.v2' },
];

const now = () => Number(process.hrtime.bigint()) / 1e6;

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the CRI bench needs root');
  // Tests and the other containerd benches wait while this runs (bench/containerd-lock.ts).
  const containerdLock = await takeContainerdLock();
  const loadBefore = loadNow();
  const dir = mkdtempSync('/tmp/runt-bench-cri-');
  chmodSync(dir, 0o755);
  const cri = new CriContainerd({
    dir: join(dir, 'containerd'),
    runtimes: Object.fromEntries(HANDLERS.map((h) => [h.name, { type: h.type, options: 'options' in h ? h.options : undefined }])),
    defaultRuntime: 'runc',
    rootfs: ROOTFS,
    pauseImage: PAUSE,
    images: { [IMAGE]: ['sh'] },
    env: flags['shim-log'] ? { RUNT_SHIM_LOG: join(dir, 'shim.log') } : {},
  });
  mkdirSync(join(dir, 'containerd'));
  const library = workerRunner();
  const libRoot = join(dir, 'library-root');
  let ttrpc: TtrpcClient | undefined;
  try {
    await cri.start();
    process.stderr.write(`bench: containerd with CRI up; ${ITERATIONS} iterations (+${WARMUP} warm-up)\n`);

    // The library's bundle: the same rootfs, the same command, as the CRI's containers.
    const rootfs = join(dir, 'rootfs');
    execFileSync('cp', ['-a', ROOTFS, rootfs]);
    const spec = defaultSpec();
    spec.process!.terminal = false;
    spec.process!.args = ['sleep', '1000'];
    spec.root = { path: rootfs, readonly: true };
    const bundle = join(dir, 'bundle');
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));

    const pods = new Map<string, { id: string; config: Record<string, unknown> }>();
    const podMs: Record<string, number> = {};
    for (const h of HANDLERS) {
      const config = {
        metadata: { name: `bench-${h.name}`, uid: `uid-${h.name}-${process.pid}`, namespace: 'default', attempt: 0 },
        log_directory: join(dir, 'pod-logs', h.name),
        linux: podNetwork,
      };
      const t0 = now();
      const pod = await cri.call('RunPodSandbox', { config, runtime_handler: h.name });
      podMs[h.name] = now() - t0;
      const id = String(pod.pod_sandbox_id);
      cri.track(id, h.runtime);
      pods.set(h.name, { id, config });
    }
    const runtPod = pods.get('runt')!.id;
    const startBundle = join(dir, 'start-bundle');
    mkdirSync(startBundle);
    writeFileSync(join(startBundle, 'config.json'), JSON.stringify({ annotations: { 'io.kubernetes.cri.sandbox-id': runtPod } }));
    ttrpc = await TtrpcClient.connect(socketPath(cri.runtShimAddress(runtPod)));
    const client = ttrpc;
    const meta = { 'containerd-namespace': 'k8s.io' };

    let n = 0;
    const samples: Record<string, number[]> = {};
    const keep = (k: string, ms: number, kept: boolean): void => {
      if (kept) (samples[k] ??= []).push(ms);
    };
    type Step = (kept: boolean) => Promise<void>;
    const steps: Step[] = [
      ...HANDLERS.map((h): Step => async (kept) => {
        const pod = pods.get(h.name)!;
        const name = `c${n++}`;
        const t0 = now();
        const c = await cri.call('CreateContainer', {
          pod_sandbox_id: pod.id,
          sandbox_config: pod.config,
          config: { metadata: { name, attempt: 0 }, image: { image: IMAGE }, command: ['sleep', '1000'], log_path: `${name}.log` },
        });
        const cid = String(c.container_id);
        cri.track(cid, h.runtime);
        keep(`${h.name} create`, now() - t0, kept);
        await cri.call('StartContainer', { container_id: cid });
        for (let polls = 0; ; polls++) {
          const st = await cri.call('ContainerStatus', { container_id: cid });
          if (st.status.state === 1 /* CONTAINER_RUNNING */) break;
          if (st.status.state !== 0 || polls > 5000) throw new Error(`${h.name} ${cid}: state ${st.status.state}, not RUNNING`);
        }
        keep(h.name, now() - t0, kept);
        await cri.call('StopContainer', { container_id: cid, timeout: 0 });
        await cri.call('RemoveContainer', { container_id: cid });
      }),
      async (kept) => {
        // What containerd runs first for each container of the pod: the shim's `start`, which hands
        // the container to the pod's running shim and prints its address (the native front's
        // Claim; Node only when no shim takes the container).
        const t0 = now();
        const r = spawnSync(
          FRONT,
          ['-namespace', 'k8s.io', '-address', cri.sock, '-publish-binary', 'containerd', '-id', `start-${n++}`, 'start'],
          {
            cwd: startBundle,
            env: benchEnv(),
            encoding: 'utf8',
          },
        );
        const ms = now() - t0;
        if (r.status !== 0 || r.stdout.trim() !== cri.runtShimAddress(runtPod))
          throw new Error(`shim start: ${r.status} ${r.stdout}${r.stderr}`);
        keep('start', ms, kept);
      },
      async (kept) => {
        keep('library', await library.call<number>('libraryCreateStart', libRoot, bundle, `bench-cri-lib-${n++}`), kept);
      },
      async (kept) => {
        for (const [method, req, res] of [
          ['Connect', 'ConnectRequest', 'ConnectResponse'],
          ['State', 'StateRequest', 'StateResponse'],
        ]) {
          for (let i = 0; i < RTT_CALLS; i++) {
            const t0 = now();
            await client.call(TASK, method, `containerd.task.v2.${req}`, { id: runtPod }, `containerd.task.v2.${res}`, meta);
            keep(method, now() - t0, kept);
          }
        }
      },
    ];
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      // Rotate the order each iteration so no measurement always follows the same neighbour.
      for (let k = 0; k < steps.length; k++) await steps[(i + k) % steps.length](i >= WARMUP);
      process.stderr.write(i < WARMUP ? 'w' : '.');
    }
    process.stderr.write('\n');
    ttrpc.close();
    ttrpc = undefined;
    for (const { id } of pods.values()) {
      await cri.call('StopPodSandbox', { pod_sandbox_id: id });
      await cri.call('RemovePodSandbox', { pod_sandbox_id: id });
    }
    const calls = flags['shim-log'] ? shimCallsPerContainer(join(dir, 'shim.log'), runtPod) : undefined;
    report(podMs, samples, loadBefore, calls);
  } finally {
    ttrpc?.close();
    await library.close().catch(() => {});
    const stayed = await cri.stop();
    if (stayed.length) process.stderr.write(`bench: cgroup directories still in use, left in place: ${stayed.join(', ')}\n`);
    rmSync(dir, { recursive: true, force: true });
    if (containerdLock !== undefined) closeSync(containerdLock);
  }
}

/** From the shim's log (RUNT_SHIM_LOG): the Task calls the shim served for each container other
 *  than the pod's own, from its first call to its Start, as "Create, Start" etc., and the median
 *  time its handlers took for them (first call to Start, summed). */
function shimCallsPerContainer(log: string, podId: string): { calls: string; handlerMs: number } {
  const lines = readFileSync(log, 'utf8').split('\n');
  const perId = new Map<string, string[]>();
  const msPerId = new Map<string, number>();
  const started = new Set<string>();
  for (const l of lines) {
    const done = /\b([A-Z][A-Za-z]+) answered in ([0-9.]+) ms \{"id":"([0-9a-f]+)"/.exec(l);
    if (done) {
      const [, name, ms, id] = done;
      if (id !== podId && !started.has(id)) msPerId.set(id, (msPerId.get(id) ?? 0) + Number(ms));
      if (name === 'Start') started.add(id);
      continue;
    }
    const m = /\b([A-Z][A-Za-z]+) \{"id":"([0-9a-f]+)"/.exec(l);
    if (!m || m[2] === podId) continue;
    const seen = perId.get(m[2]) ?? [];
    if (!seen.includes('Start')) seen.push(m[1]);
    perId.set(m[2], seen);
  }
  const counts = new Map<string, number>();
  for (const seq of perId.values()) counts.set(seq.join(', '), (counts.get(seq.join(', ')) ?? 0) + 1);
  return {
    calls: [...counts].map(([seq, k]) => `${seq} (${k} containers)`).join('; '),
    handlerMs: msPerId.size ? median([...msPerId.values()]) : NaN,
  };
}

function report(
  podMs: Record<string, number>,
  samples: Record<string, number[]>,
  loadBefore: string,
  calls?: { calls: string; handlerMs: number },
): void {
  const med = (k: string) => (samples[k]?.length ? median(samples[k]) : NaN);
  const runc = med('runc');
  const f = (ms: number) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(0));
  const m = describeMachine(loadBefore);
  const containerd = spawnSync('containerd', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const lib = med('library');
  const rtt = med('Connect');
  const text = [
    '## Under CRI: CreateContainer to running (issue 17)',
    '',
    `- date: ${m.date}; machine: ${m.cpu}, ${m.nproc} CPUs, kernel ${m.kernel}, Node ${m.node}; ${containerd}; ${m.runc ?? ''}`,
    `- load average before: ${m.loadBefore}, after: ${m.loadAfter}`,
    `- medians of ${ITERATIONS} interleaved iterations (after ${WARMUP} warm-ups), \`node dist/bench/cri.js\`; NODE_EXTRA_CA_CERTS and NODE_OPTIONS unset for containerd and everything it starts, and for the library's process`,
    "- one pod per handler (the pause container first, network namespace: containerd's own, NODE); each iteration a container (`sleep 1000`, busybox) in it: CreateContainer + StartContainer + ContainerStatus until RUNNING, then StopContainer + RemoveContainer (not timed)",
    '',
    "| a pod's second container | CreateContainer → RUNNING, ms (median) | × runc | of which CreateContainer, ms |",
    '| --- | ---: | ---: | ---: |',
    ...HANDLERS.map((h) => `| ${h.title} | ${f(med(h.name))} | ${(med(h.name) / runc).toFixed(2)} | ${f(med(`${h.name} create`))} |`),
    '',
    '| the same work without containerd | ms (median) |',
    '| --- | ---: |',
    `| the library: \`Runtime\` create + start of the same rootfs and command, in one long-lived Node process | ${f(lib)} |`,
    `| a ttrpc round trip to the pod's runt shim: Connect (src/shim's client, one connection, ${RTT_CALLS} calls per iteration) | ${f(rtt)} |`,
    `| a ttrpc round trip: State | ${f(med('State'))} |`,
    `| \`containerd-shim-runt-v2 start\` handing a container to the pod's running shim (containerd runs it for every container): the native front's Claim, no Node | ${f(med('start'))} |`,
    `| runt's shim's second container minus the library's create + start | ${f(med('runt') - lib)} |`,
    '',
    `RunPodSandbox (once per handler, not in the medians; it includes starting the pod's shim and the pause container): ${HANDLERS.map((h) => `${h.name} ${f(podMs[h.name])} ms`).join(', ')}.`,
    ...(calls
      ? [
          '',
          `Task calls runt's shim served per container (from its log, \`--shim-log\`): ${calls.calls}; the shim's handlers took ${f(calls.handlerMs)} ms per container from its first call to Start's answer (median, summed over the calls).`,
        ]
      : []),
  ].join('\n');
  console.log(text);
  if (!flags['no-write']) writeGeneratedSection(join(REPO, 'docs/PERFORMANCE.md'), text, 'bench-cri', 'node dist/bench/cri.js');
}

await main();
