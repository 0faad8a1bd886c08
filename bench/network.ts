// The cost of a CNI network attachment: `runt run` of /bin/true on the busybox bundle with one
// bridge network (bridge + host-local, portmap, firewall, tuning) against the same without a
// network, podman with the same plugins (its CNI backend, `--rootfs`, so no image is needed), and
// the floor: the plugins' own ADD + DEL chain run directly on a namespace. Interleaved, medians.
//
//   npm run build:ts && node dist/bench/network.js [--iterations N] [--no-write]
//
// Everything runs in a network and mount namespace the bench makes for itself (it re-executes
// under unshare): the bridges, veths and iptables rules never touch the host's.
// NODE_EXTRA_CA_CERTS and NODE_OPTIONS are unset for every process measured (bench/measure.ts).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultSpec } from '../src/spec/default.js';
import { NetworkStore } from '../src/network/store.js';
import { addChain, delChain } from '../src/network/chain.js';
import { benchEnv, median, timeCommand } from './measure.js';
import { loadNow, writeGeneratedSection } from './report.js';
import { cpus, release } from 'node:os';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'bin/runt.cjs');
const ROOTFS = join(REPO, 'examples/busybox/rootfs');
const { values: flags } = parseArgs({
  options: { iterations: { type: 'string', short: 'n', default: '15' }, 'no-write': { type: 'boolean', default: false } },
});
const N = Number(flags.iterations);

if (process.env.RUNT_BENCH_NETNS !== '1') {
  const r = spawnSync(
    'unshare',
    ['--net', '--mount', '--propagation', 'private', process.execPath, process.argv[1], ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      env: { ...benchEnv(), RUNT_BENCH_NETNS: '1' },
    },
  );
  process.exit(r.status ?? 1);
}

spawnSync('ip', ['link', 'set', 'lo', 'up']);
const root = mkdtempSync('/tmp/runt-bench-net-root-');
const store = mkdtempSync('/tmp/runt-bench-net-store-');
const bundle = mkdtempSync('/tmp/runt-bench-net-bundle-');
const spec = defaultSpec();
spec.process!.terminal = false;
spec.process!.args = ['/bin/true'];
spec.root = { path: ROOTFS, readonly: true };
writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
const runt = ['node', CLI, '--root', root, '--store', store];
const podmanOk =
  spawnSync('podman', ['--version']).status === 0 &&
  spawnSync('podman', ['info', '--format', '{{.Host.NetworkBackend}}'], { encoding: 'utf8' }).stdout?.trim() === 'cni';

// podman's host-local keeps its leases in /var/lib/cni (its default data directory, on the host's
// file system): made by this bench if it was not there, removed again at the end.
const podmanCniDir = '/var/lib/cni';
const podmanCniDirExisted = existsSync(podmanCniDir);
// A namespace for the floor: the plugins on their own, no container around them.
const holder = spawn('unshare', ['--net', 'sleep', '100000'], { stdio: 'ignore' });
const cleanup = () => {
  try {
    holder.kill('SIGKILL');
  } catch {
    /* gone */
  }
  rmSync(root, { recursive: true, force: true });
  rmSync(store, { recursive: true, force: true });
  rmSync(bundle, { recursive: true, force: true });
  if (!podmanCniDirExisted) rmSync(podmanCniDir, { recursive: true, force: true });
};

try {
  const net = new NetworkStore(store);
  const list = net.create('bench', { subnet: '10.89.200.0/24' });
  while (readFileSync(`/proc/${holder.pid}/comm`, 'utf8').trim() !== 'sleep') await new Promise((r) => setTimeout(r, 5));
  const floorOnce = async (i: number): Promise<number> => {
    const call = {
      containerId: `floor-${i}`,
      netns: `/proc/${holder.pid}/ns/net`,
      ifname: 'eth0',
      cniPath: ['/usr/lib/cni'],
      timeoutMs: 30_000,
      runtimeConfig: {},
      lockFile: net.lockFile('bench'),
    };
    const t0 = process.hrtime.bigint();
    const result = await addChain(list, call);
    await delChain(list, call, result);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };

  const cases: Array<{ name: string; run: (i: number) => Promise<number> | number }> = [
    { name: 'runt, no network', run: (i) => timeCommand([...runt, 'run', '-b', bundle, `plain-${i}`]) },
    { name: 'runt, one CNI bridge network', run: (i) => timeCommand([...runt, 'run', '-b', bundle, '--network', 'bench', `net-${i}`]) },
    { name: 'CNI plugins alone (ADD + DEL)', run: floorOnce },
  ];
  if (podmanOk) {
    // podman's own default network (87-podman-bridge.conflist): the same four plugins.
    // runc (crun refuses hybrid cgroups), and limits this sandbox can set (field-notes.md).
    const podman = (net: string, i: number) =>
      timeCommand([
        'podman',
        '--runtime',
        'runc',
        'run',
        '--rm',
        '--ulimit',
        'nofile=1024:1024',
        '--ulimit',
        'nproc=1024:1024',
        '--network',
        net,
        '--name',
        `runt-bench-${process.pid}-${net}-${i}`,
        '--rootfs',
        ROOTFS,
        '/bin/true',
      ]);
    cases.push(
      { name: 'podman + runc, no network', run: (i) => podman('none', i) },
      { name: 'podman + runc, its CNI bridge network', run: (i) => podman('podman', i) },
    );
  }
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const before = loadNow();
  for (let i = -2; i < N; i++) {
    for (const c of cases) {
      const ms = await c.run(i + 2);
      if (i >= 0) times.get(c.name)!.push(ms);
    }
  }
  const after = loadNow();
  const med = (name: string) => median(times.get(name)!);
  const base = med('runt, no network');
  const podmanBase = podmanOk ? med('podman + runc, no network') : 0;
  const rows = cases.map((c) => {
    const over = c.name.startsWith('podman') ? med(c.name) - podmanBase : c.name.startsWith('runt') ? med(c.name) - base : NaN;
    return `| ${c.name} | ${med(c.name).toFixed(1)} | ${Number.isNaN(over) ? '–' : over.toFixed(1)} |`;
  });
  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? '?';
  const podmanVersion = podmanOk ? spawnSync('podman', ['--version'], { encoding: 'utf8' }).stdout.trim() : 'not measured';
  const text = [
    '## Networks: the cost of one CNI attachment',
    '',
    `- date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- machine: ${model}, ${cpus().length} CPUs, kernel ${release()}, Node ${process.version}; ${podmanVersion}; containernetworking-plugins from Debian`,
    `- load average (1/5/15 min) before: ${before}, after: ${after}`,
    `- medians of ${N} interleaved iterations (after 2 warm-ups); \`NODE_EXTRA_CA_CERTS\` and \`NODE_OPTIONS\` unset for every process measured`,
    '- everything in a network + mount namespace the bench made (`node dist/bench/network.js`)',
    '',
    '| `run` of /bin/true | median (ms) | over the same without a network (ms) |',
    '|---|---|---|',
    ...rows,
    '',
    "The network costs runt the second row minus the first. The third row is the floor: the four plugins' ADD and DEL,",
    "exec'd directly on a namespace, with no container around them." +
      (podmanOk
        ? ' podman runs with `--rootfs` (no image) and its own default CNI network (the same four plugins).'
        : ' podman with a CNI backend was not available here.'),
  ].join('\n');
  console.log(text);
  if (!flags['no-write']) writeGeneratedSection(join(REPO, 'docs/PERFORMANCE.md'), text, 'bench-network', 'node dist/bench/network.js');
} finally {
  cleanup();
}
