// Images: `runt run --image` of a cached image against `runt run --bundle` of the same rootfs
// (a 5 MB and a ~200 MB image), pull throughput from a loopback registry against skopeo on the same
// image, and the peak memory of a pull of either size. The bench starts its own docker-registry on a
// loopback port and builds both images itself (busybox + incompressible data), pushed by skopeo.
//
//   npm run build:ts && node dist/bench/images.js [--iterations N] [--pulls N] [--no-write]
//
// NODE_EXTRA_CA_CERTS and NODE_OPTIONS are unset for every process measured (bench/measure.ts).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { benchEnv, median, peakRssKb, timeCommand } from './measure.js';
import { loadNow } from './report.js';
import { tarBuffer } from '../src/image/tar-writer.js';
import { writeLayout } from '../test/helpers/oci-layout.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'bin/runt.cjs');
const ROOTFS = join(REPO, 'examples/busybox/rootfs');
const { values: flags } = parseArgs({
  options: {
    iterations: { type: 'string', short: 'n', default: '9' },
    pulls: { type: 'string', default: '3' },
    'no-write': { type: 'boolean', default: false },
  },
});
const N = Number(flags.iterations);
const PULLS = Number(flags.pulls);

const work = mkdtempSync('/tmp/runt-bench-images-');
const root = join(work, 'state');
const store = join(work, 'store');
const runt = (s = store) => ['node', CLI, '--root', root, '--store', s];
let registry: ReturnType<typeof spawn> | undefined;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function startRegistry(): Promise<string> {
  const port = await freePort();
  writeFileSync(
    join(work, 'registry.yml'),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${work}/registry\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  registry = spawn('/usr/bin/docker-registry', ['serve', join(work, 'registry.yml')], { stdio: 'ignore' });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((res) => {
      const req = request(`http://${host}/v2/`, (r) => {
        r.resume();
        res(r.statusCode === 200);
      });
      req.on('error', () => res(false));
      req.end();
    });
    if (ok) return host;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('docker-registry did not start');
}

/** busybox plus `extra` layers of `mb` MB of random bytes each, pushed by skopeo. */
function makeImage(host: string, name: string, extra: number, mb: number): string {
  execFileSync('tar', ['-C', ROOTFS, '--format=pax', '--numeric-owner', '-cf', join(work, 'bb.tar'), '.']);
  const layers: Buffer[] = [readFileSync(join(work, 'bb.tar'))];
  for (let i = 0; i < extra; i++)
    layers.push(tarBuffer([{ name: `data/blob${i}`, type: 'file', mode: 0o644, data: randomBytes(mb << 20) }]));
  const dir = join(work, `layout-${name}`);
  writeLayout(dir, 'v1', layers, { Cmd: ['/bin/true'] });
  const ref = `${host}/bench/${name}:v1`;
  execFileSync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${ref}`], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
  return ref;
}

try {
  const host = await startRegistry();
  const small = makeImage(host, 'small', 1, 3); // busybox (≈1 MB gz) + 3 MB
  const large = makeImage(host, 'large', 4, 50); // busybox + 4 × 50 MB
  for (const ref of [small, large]) timeCommand([...runt(), 'image', 'pull', '-q', ref]);
  const bundles: Record<string, string> = {};
  for (const [k, ref] of [
    ['small', small],
    ['large', large],
  ]) {
    bundles[k] = join(work, `bundle-${k}`);
    timeCommand([...runt(), 'image', 'bundle', ref, bundles[k], '/bin/true']);
  }

  // 1. run of a cached image against run of a bundle of the same rootfs, interleaved.
  const cases: Array<{ name: string; argv: (i: number) => string[] }> = [];
  for (const [k, ref] of [
    ['small', small],
    ['large', large],
  ]) {
    cases.push({ name: `${k}: run --bundle`, argv: (i) => [...runt(), 'run', '--bundle', bundles[k], `b-${k}-${i}`] });
    cases.push({ name: `${k}: run --image`, argv: (i) => [...runt(), 'run', '--image', ref, `i-${k}-${i}`, '--', '/bin/true'] });
  }
  const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  const before = loadNow();
  for (let i = -2; i < N; i++)
    for (const c of cases) {
      const ms = timeCommand(c.argv(i + 2));
      if (i >= 0) times.get(c.name)!.push(ms);
    }
  const med = (n: string) => median(times.get(n)!);

  // 2. pulls of the large image into an empty store: runt (with and without unpacking) and skopeo.
  const pullCases: Array<{ name: string; run: (i: number) => number }> = [
    {
      name: 'runt image pull (download + verify + unpack)',
      run: (i) => timeCommand([...runt(join(work, `p-${i}`)), 'image', 'pull', '-q', large]),
    },
    {
      name: 'runt image pull --no-unpack (download + verify)',
      run: (i) => timeCommand([...runt(join(work, `q-${i}`)), 'image', 'pull', '-q', '--no-unpack', large]),
    },
    {
      name: 'skopeo copy docker:// → oci: (download + verify)',
      run: (i) => timeCommand(['skopeo', 'copy', '-q', '--src-tls-verify=false', `docker://${large}`, `oci:${join(work, `s-${i}`)}:v1`]),
    },
  ];
  const pullTimes = new Map<string, number[]>(pullCases.map((c) => [c.name, []]));
  for (let i = 0; i < PULLS; i++)
    for (const c of pullCases) {
      pullTimes.get(c.name)!.push(c.run(i));
      for (const p of ['p', 'q', 's']) rmSync(join(work, `${p}-${i}`), { recursive: true, force: true });
    }
  const largeBytes = 4 * (50 << 20) + 1_000_000;

  // 3. peak memory of a pull (download + unpack) of each image into an empty store.
  const rss = (ref: string, tag: string) => {
    const kb = peakRssKb([...runt(join(work, `m-${tag}`)), 'image', 'pull', '-q', ref]);
    rmSync(join(work, `m-${tag}`), { recursive: true, force: true });
    return kb;
  };
  const rssSmall = rss(small, 's');
  const rssLarge = rss(large, 'l');
  const skopeoRss = peakRssKb([
    'skopeo',
    'copy',
    '-q',
    '--src-tls-verify=false',
    `docker://${large}`,
    `oci:${join(work, 'rss-skopeo')}:v1`,
  ]);
  const after = loadNow();

  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? '?';
  const skopeoVersion = spawnSync('skopeo', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const mbps = (ms: number) => (largeBytes / (1 << 20) / (ms / 1000)).toFixed(0);
  const text = [
    '## Images: run from a cached image, pull throughput, pull memory',
    '',
    `- date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- machine: ${model}, ${cpus().length} CPUs, kernel ${release()}, Node ${process.version}; ${skopeoVersion}; Debian's docker-registry on loopback`,
    `- load average (1/5/15 min) before: ${before}, after: ${after}`,
    `- run: medians of ${N} interleaved iterations (after 2 warm-ups); pulls: medians of ${PULLS}; \`NODE_EXTRA_CA_CERTS\` and \`NODE_OPTIONS\` unset for every process measured`,
    '- images built by the bench: busybox + one 3 MB layer (small, ≈5 MB), busybox + four 50 MB layers of random bytes (large, ≈200 MB), pushed by skopeo',
    '',
    '| `run` of /bin/true | small (ms) | large (ms) |',
    '|---|---|---|',
    `| run --bundle (image bundle's rootfs) | ${med('small: run --bundle').toFixed(1)} | ${med('large: run --bundle').toFixed(1)} |`,
    `| run --image (cached: overlay of its snapshots) | ${med('small: run --image').toFixed(1)} | ${med('large: run --image').toFixed(1)} |`,
    `| ratio image / bundle (target ≤ 1.2) | ${(med('small: run --image') / med('small: run --bundle')).toFixed(2)}x | ${(med('large: run --image') / med('large: run --bundle')).toFixed(2)}x |`,
    '',
    '| pull of the large image into an empty store | median (s) | MiB/s |',
    '|---|---|---|',
    ...pullCases.map(
      (c) => `| ${c.name} | ${(median(pullTimes.get(c.name)!) / 1000).toFixed(2)} | ${mbps(median(pullTimes.get(c.name)!))} |`,
    ),
    '',
    '| peak RSS of a pull (download + unpack) | KB |',
    '|---|---|',
    `| runt, small image (≈5 MB) | ${rssSmall} |`,
    `| runt, large image (≈200 MB, 50 MB layers) | ${rssLarge} |`,
    `| skopeo copy of the large image (no unpack) | ${skopeoRss} |`,
  ].join('\n');
  console.log(text);
  if (!flags['no-write']) writeSection(join(REPO, 'docs/PERFORMANCE.md'), text);
} finally {
  if (registry && registry.exitCode === null) registry.kill('SIGKILL');
  spawnSync('node', [CLI, '--root', root, 'list'], { env: benchEnv() });
  rmSync(work, { recursive: true, force: true });
}

function writeSection(path: string, section: string): void {
  const BEGIN = '<!-- bench-images:begin (written by `node dist/bench/images.js`; edit outside these markers) -->';
  const END = '<!-- bench-images:end -->';
  const text = readFileSync(path, 'utf8');
  const block = `${BEGIN}\n${section.trim()}\n${END}`;
  const i = text.indexOf(BEGIN);
  const j = text.indexOf(END);
  writeFileSync(path, i >= 0 && j > i ? `${text.slice(0, i)}${block}${text.slice(j + END.length)}` : `${text.trimEnd()}\n\n${block}\n`);
}
