// Images: `runt run --image` of a cached image against `runt run --bundle` of the same rootfs
// (a 5 MB and a ~200 MB image); pulls from a loopback registry by runt and by skopeo, side by side on
// the same image, both sizes: wall time (MiB/s) and the peak RSS of the pulling process (VmHWM, as
// wait4 reports it through /usr/bin/time), and in the same rounds the library's rt.images.pull in
// one long-lived Node process (bench/library.ts in a worker: a daemon's pull, no Node start). Both images have five layers (busybox + four of random
// bytes, 1 MB or 50 MB each), so only the layers' size differs between them. The bench starts its
// own docker-registry on a loopback port and builds the images itself, pushed by skopeo.
//
//   npm run build:ts && node dist/bench/images.js [--iterations N] [--pulls N] [--xl] [--no-write]
//
// --xl adds a third image of four 150 MB layers (pulls and memory only), to show where the peak
// settles. --https adds pulls over TLS: a second docker-registry on loopback serving a certificate
// of a throwaway CA the bench makes with openssl (SAN 127.0.0.1 and localhost), the same images
// pushed to it, pulled in the same rounds by runt's CLI (NODE_EXTRA_CA_CERTS=that CA: runt trusts it
// beside the system bundle, which it still loads), skopeo (--src-cert-dir with that CA: Go's system
// pool plus the CA) and the library; both verify the certificate. NODE_EXTRA_CA_CERTS and NODE_OPTIONS are unset for every process measured (benchEnv in
// bench/measure.ts): with the first, every Node start costs ~80 ms more here.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { benchEnv, median, timeCommand } from './measure.js';
import { loadNow, writeGeneratedSection } from './report.js';
import { workerRunner } from './runners.js';
import { makeTestCa } from './tls-ca.js';
import { tarBuffer } from '../src/image/tar-writer.js';
import { writeLayout } from '../test/helpers/oci-layout.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI = join(REPO, 'bin/runt.cjs');
const ROOTFS = join(REPO, 'examples/busybox/rootfs');
const { values: flags } = parseArgs({
  options: {
    iterations: { type: 'string', short: 'n', default: '9' },
    pulls: { type: 'string', default: '5' },
    xl: { type: 'boolean', default: false },
    https: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const N = Number(flags.iterations);
const PULLS = Number(flags.pulls);

const work = mkdtempSync('/tmp/runt-bench-images-');
const root = join(work, 'state');
const store = join(work, 'store');
const runt = (s = store) => ['node', CLI, '--root', root, '--store', s];
const registries: Array<ReturnType<typeof spawn>> = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** A throwaway CA and a server certificate it signs for 127.0.0.1 and localhost. */
function makeCa(): { ca: string; certDir: string; cert: string; key: string } {
  const made = makeTestCa(work, 'runt bench CA', ['IP:127.0.0.1', 'DNS:localhost']);
  // skopeo's --src-cert-dir takes *.crt files as CAs.
  const certDir = join(work, 'certs.d');
  mkdirSync(certDir);
  copyFileSync(made.ca, join(certDir, 'ca.crt'));
  return { ...made, certDir };
}

async function startRegistry(name: string, tls?: { cert: string; key: string }): Promise<string> {
  const port = await freePort();
  const tlsConf = tls ? `  tls:\n    certificate: ${tls.cert}\n    key: ${tls.key}\n` : '';
  writeFileSync(
    join(work, `${name}.yml`),
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${work}/${name}\nhttp:\n  addr: 127.0.0.1:${port}\n${tlsConf}`,
  );
  registries.push(spawn('/usr/bin/docker-registry', ['serve', join(work, `${name}.yml`)], { stdio: 'ignore' }));
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((res) => {
      const req = (tls ? httpsRequest : request)(`${tls ? 'https' : 'http'}://${host}/v2/`, { rejectUnauthorized: false }, (r) => {
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

interface BenchImage {
  ref: string;
  /** The same image in the TLS registry (--https). */
  httpsRef?: string;
  /** Bytes a pull downloads: the layer blobs and the config, as the registry serves them. */
  bytes: number;
}

/** busybox plus `extra` layers of `mb` MB of random bytes each, pushed by skopeo. */
function makeImage(host: string, name: string, extra: number, mb: number, tlsHost?: string): BenchImage {
  execFileSync('tar', ['-C', ROOTFS, '--format=pax', '--numeric-owner', '-cf', join(work, 'bb.tar'), '.']);
  const layers: Buffer[] = [readFileSync(join(work, 'bb.tar'))];
  for (let i = 0; i < extra; i++)
    layers.push(tarBuffer([{ name: `data/blob${i}`, type: 'file', mode: 0o644, data: randomBytes(mb << 20) }]));
  const dir = join(work, `layout-${name}`);
  const img = writeLayout(dir, 'v1', layers, { Cmd: ['/bin/true'] });
  const ref = `${host}/bench/${name}:v1`;
  execFileSync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${ref}`], { stdio: 'ignore' });
  const httpsRef = tlsHost && `${tlsHost}/bench/${name}:v1`;
  if (httpsRef) execFileSync('skopeo', ['copy', '--dest-tls-verify=false', `oci:${dir}:v1`, `docker://${httpsRef}`], { stdio: 'ignore' });
  const manifest = JSON.parse(readFileSync(join(dir, 'blobs/sha256', img.manifestDigest.slice(7)), 'utf8')) as {
    config: { size: number };
    layers: Array<{ size: number }>;
  };
  rmSync(dir, { recursive: true, force: true });
  return { ref, httpsRef, bytes: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0) };
}

/** Wall time (ms) and peak RSS (KB, from wait4's rusage through /usr/bin/time) of one command. */
function timeAndPeak(argv: string[]): { ms: number; kb: number } {
  const out = join(work, 'time.out');
  closeSync(openSync(out, 'w'));
  const ms = timeCommand(['/usr/bin/time', '-f', '%M', '-o', out, ...argv]);
  const kb = Number(readFileSync(out, 'utf8').trim().split('\n').pop());
  rmSync(out, { force: true });
  return { ms, kb };
}

try {
  const host = await startRegistry('registry');
  const tls = flags.https ? makeCa() : undefined;
  const tlsHost = tls && (await startRegistry('registry-tls', tls));
  const smallImg = makeImage(host, 'small', 4, 1, tlsHost); // busybox (≈1 MB gz) + 4 × 1 MB
  const largeImg = makeImage(host, 'large', 4, 50, tlsHost); // busybox + 4 × 50 MB
  const xlImg = flags.xl ? makeImage(host, 'xl', 4, 150, tlsHost) : undefined; // busybox + 4 × 150 MB
  const small = smallImg.ref;
  const large = largeImg.ref;
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

  // 2. pulls into an empty store, interleaved: runt with and without unpacking, skopeo; each run's
  // wall time and its process's peak RSS. One warm-up round first (page cache, registry).
  const images: Array<[string, BenchImage]> = [
    ['small', smallImg],
    ['large', largeImg],
    ...(xlImg ? [['xl', xlImg] as [string, BenchImage]] : []),
  ];
  const tools: Array<{ name: string; argv: (ref: string, dir: string) => string[]; https?: boolean }> = [
    {
      name: 'runt image pull --no-unpack (download + verify)',
      argv: (ref: string, dir: string) => [...runt(dir), 'image', 'pull', '-q', '--no-unpack', ref],
    },
    {
      name: 'skopeo copy docker:// → oci: (download + verify)',
      argv: (ref: string, dir: string) => ['skopeo', 'copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${dir}:v1`],
    },
    {
      name: 'runt image pull (download + verify + unpack)',
      argv: (ref: string, dir: string) => [...runt(dir), 'image', 'pull', '-q', ref],
    },
    ...(tls
      ? [
          {
            name: 'HTTPS: runt image pull --no-unpack',
            argv: (ref: string, dir: string) => [
              'env',
              `NODE_EXTRA_CA_CERTS=${tls.ca}`,
              ...runt(dir),
              'image',
              'pull',
              '-q',
              '--no-unpack',
              ref,
            ],
            https: true,
          },
          {
            name: 'HTTPS: skopeo copy docker:// → oci:',
            argv: (ref: string, dir: string) => ['skopeo', 'copy', '-q', '--src-cert-dir', tls.certDir, `docker://${ref}`, `oci:${dir}:v1`],
            https: true,
          },
        ]
      : []),
  ];
  const HTTPS_LIBRARY = 'HTTPS: the library, rt.images.pull({ unpack: false }) in a long-lived Node process';
  // In the same rounds: the library's rt.images.pull in one long-lived Node process (a daemon's
  // pull: no Node start); its peak RSS is the worker's, not one pull's, so it is not reported.
  const LIBRARY = 'the library: rt.images.pull({ unpack: false }) in a long-lived Node process';
  const library = workerRunner();
  const pulls = new Map<string, Array<{ ms: number; kb: number }>>();
  try {
    for (let i = -1; i < PULLS; i++)
      for (const [size, img] of images) {
        for (const tool of tools) {
          const dir = join(work, 'pull-store');
          const r = timeAndPeak(tool.argv(tool.https ? img.httpsRef! : img.ref, dir));
          rmSync(dir, { recursive: true, force: true });
          if (i < 0) continue;
          const key = `${size} ${tool.name}`;
          pulls.set(key, [...(pulls.get(key) ?? []), r]);
        }
        const dir = join(work, 'pull-store');
        const ms = await library.call<number>('libraryPull', dir, img.ref, false);
        rmSync(dir, { recursive: true, force: true });
        if (i >= 0) pulls.set(`${size} ${LIBRARY}`, [...(pulls.get(`${size} ${LIBRARY}`) ?? []), { ms, kb: NaN }]);
        if (tls) {
          const ms = await library.call<number>('libraryPull', dir, img.httpsRef, false, tls.ca);
          rmSync(dir, { recursive: true, force: true });
          if (i >= 0) pulls.set(`${size} ${HTTPS_LIBRARY}`, [...(pulls.get(`${size} ${HTTPS_LIBRARY}`) ?? []), { ms, kb: NaN }]);
        }
      }
  } finally {
    await library.close();
  }
  const pullMs = (size: string, tool: string) => median(pulls.get(`${size} ${tool}`)!.map((r) => r.ms));
  const pullMb = (size: string, tool: string) => median(pulls.get(`${size} ${tool}`)!.map((r) => r.kb)) / 1024;
  const range = (size: string, tool: string) => {
    const kbs = pulls.get(`${size} ${tool}`)!.map((r) => r.kb / 1024);
    return `${Math.min(...kbs).toFixed(0)}–${Math.max(...kbs).toFixed(0)}`;
  };

  // 3. the floor under runt's figures: a Node process doing nothing, and runt's CLI listing an empty store.
  const floor = (argv: string[]) => median([0, 1, 2].map(() => timeAndPeak(argv).kb)) / 1024;
  const nodeFloor = floor(['node', '-e', '0']);
  const cliFloor = floor([...runt(join(work, 'empty-store')), 'image', 'ls']);
  const after = loadNow();

  const model = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? '?';
  const skopeoVersion = spawnSync('skopeo', ['--version'], { encoding: 'utf8' }).stdout.trim();
  const osName = /^PRETTY_NAME="?([^"\n]*)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 'Linux';
  const MiB = 1 << 20;
  const mibs = (bytes: number, ms: number) => (bytes / MiB / (ms / 1000)).toFixed(0);
  const [RUNT, SKOPEO, UNPACK, , HTTPS_SKOPEO] = tools.map((x) => x.name);
  const sizeLabel: Record<string, string> = {
    small: `small (${(smallImg.bytes / MiB).toFixed(1)} MiB)`,
    large: `large (${(largeImg.bytes / MiB).toFixed(0)} MiB)`,
    xl: `xl (${((xlImg?.bytes ?? 0) / MiB).toFixed(0)} MiB)`,
  };
  const text = [
    '## Images: run from a cached image, pull throughput, pull memory',
    '',
    `- date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- machine: ${osName}, ${model}, ${cpus().length} CPUs, kernel ${release()}, Node ${process.version}; ${skopeoVersion}; Debian's docker-registry on loopback`,
    `- load average (1/5/15 min) before: ${before}, after: ${after}`,
    `- run: medians of ${N} interleaved iterations (after 2 warm-ups); pulls: medians of ${PULLS} interleaved rounds (after 1 warm-up); \`NODE_EXTRA_CA_CERTS\` and \`NODE_OPTIONS\` unset for every process measured`,
    `- images built by the bench, five layers each: busybox + four layers of random bytes, 1 MB each (small) or 50 MB each (large)${xlImg ? ', 150 MB each (xl)' : ''}; gzip, pushed by skopeo`,
    '',
    '| `run` of /bin/true | small (ms) | large (ms) |',
    '|---|---|---|',
    `| run --bundle (image bundle's rootfs) | ${med('small: run --bundle').toFixed(1)} | ${med('large: run --bundle').toFixed(1)} |`,
    `| run --image (cached: overlay of its snapshots) | ${med('small: run --image').toFixed(1)} | ${med('large: run --image').toFixed(1)} |`,
    `| ratio image / bundle (target ≤ 1.2) | ${(med('small: run --image') / med('small: run --bundle')).toFixed(2)}x | ${(med('large: run --image') / med('large: run --bundle')).toFixed(2)}x |`,
    '',
    '| pull into an empty store | image | median (s) | MiB/s | × skopeo | peak RSS, median (MB) | peak RSS, range (MB) |',
    '|---|---|---|---|---|---|---|',
    ...images.flatMap(([size, img]) => [
      ...tools
        .filter((tool) => !tool.https)
        .map(
          (tool) =>
            `| ${tool.name} | ${sizeLabel[size]} | ${(pullMs(size, tool.name) / 1000).toFixed(2)} | ${mibs(img.bytes, pullMs(size, tool.name))} | ${(pullMs(size, SKOPEO) / pullMs(size, tool.name)).toFixed(2)} | ${pullMb(size, tool.name).toFixed(1)} | ${range(size, tool.name)} |`,
        ),
      `| ${LIBRARY} | ${sizeLabel[size]} | ${(pullMs(size, LIBRARY) / 1000).toFixed(2)} | ${mibs(img.bytes, pullMs(size, LIBRARY))} | ${(pullMs(size, SKOPEO) / pullMs(size, LIBRARY)).toFixed(2)} | – | – |`,
      ...tools
        .filter((tool) => tool.https)
        .map(
          (tool) =>
            `| ${tool.name} | ${sizeLabel[size]} | ${(pullMs(size, tool.name) / 1000).toFixed(2)} | ${mibs(img.bytes, pullMs(size, tool.name))} | ${(pullMs(size, HTTPS_SKOPEO) / pullMs(size, tool.name)).toFixed(2)} (HTTPS) | ${pullMb(size, tool.name).toFixed(1)} | ${range(size, tool.name)} |`,
        ),
      ...(tls
        ? [
            `| ${HTTPS_LIBRARY} | ${sizeLabel[size]} | ${(pullMs(size, HTTPS_LIBRARY) / 1000).toFixed(2)} | ${mibs(img.bytes, pullMs(size, HTTPS_LIBRARY))} | ${(pullMs(size, HTTPS_SKOPEO) / pullMs(size, HTTPS_LIBRARY)).toFixed(2)} (HTTPS) | – | – |`,
          ]
        : []),
    ]),
    ...(tls
      ? [
          '',
          `HTTPS rows: a second docker-registry on loopback with TLS (a certificate from a CA the bench made with openssl); "× skopeo" there is against skopeo over HTTPS. runt's CLI trusts the CA through \`NODE_EXTRA_CA_CERTS\` (a one-certificate file: Node itself reads it at start, about 15 ms here; runt adds it to the system bundle it loads), skopeo through \`--src-cert-dir\` (its system pool plus the CA): both verify the registry's certificate.`,
        ]
      : []),
    '',
    `Peak RSS of the large pull over the small one: runt ${(pullMb('large', RUNT) - pullMb('small', RUNT)).toFixed(1)} MB without unpacking, ${(pullMb('large', UNPACK) - pullMb('small', UNPACK)).toFixed(1)} MB with it; skopeo ${(pullMb('large', SKOPEO) - pullMb('small', SKOPEO)).toFixed(1)} MB. The floor under runt's figures: \`node -e 0\` peaks at ${nodeFloor.toFixed(1)} MB here, \`runt image ls\` of an empty store at ${cliFloor.toFixed(1)} MB.`,
  ].join('\n');
  console.log(text);
  if (!flags['no-write']) writeGeneratedSection(join(REPO, 'docs/PERFORMANCE.md'), text, 'bench-images', 'node dist/bench/images.js');
} finally {
  for (const registry of registries) if (registry.exitCode === null) registry.kill('SIGKILL');
  spawnSync('node', [CLI, '--root', root, 'list'], { env: benchEnv() });
  rmSync(work, { recursive: true, force: true });
}
