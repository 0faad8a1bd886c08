// `npm run bench`: runt's CLI and library against runc and crun (when installed), interleaved, on one
// busybox bundle running /bin/true, plus the kernel floor and Node's own start-up. Prints a table
// with ratios to runc and the targets; writes them into docs/PERFORMANCE.md.
//
//   node dist/bench/run.js [--iterations N] [--per-loop K] [--no-write]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultSpec } from '../src/spec/default.js';
import type { Spec } from '../src/spec/types.js';
import { floorArgv, median, timeCommand, type Cli, type InitMemory, type Lifecycle } from './measure.js';
import type { LibraryRun } from './library.js';
import { localRunner, workerRunner, type Runner } from './runners.js';
import {
  describeMachine,
  loadNow,
  machineText,
  markdownTable,
  targetsTable,
  writeGeneratedSection,
  type Column,
  type Row,
  type Target,
} from './report.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CLI_JS = join(REPO, 'bin/runt.cjs'); // the package's bin, as installed
const ROOTFS = join(REPO, 'examples/busybox/rootfs');

const { values: flags } = parseArgs({
  options: {
    iterations: { type: 'string', short: 'n', default: '15' },
    'per-loop': { type: 'string', default: '20' },
    'no-write': { type: 'boolean', default: false },
  },
});
const ITERATIONS = Number(flags.iterations);
const PER_LOOP = Number(flags['per-loop']);
const WARMUP = 2;

interface Bundles {
  rootfs: string;
  /** /bin/true */
  once: string;
  /** sleeps: for exec, state and kill */
  long: string;
  /** /bin/true with memory.limit 4 MiB and pids.limit 1 */
  tight: string;
}

function makeBundles(scratch: string): Bundles {
  const rootfs = join(scratch, 'rootfs');
  execFileSync('cp', ['-a', ROOTFS, rootfs]);
  const write = (name: string, patch: (s: Spec) => void) => {
    const spec = defaultSpec();
    spec.process!.terminal = false;
    spec.process!.args = ['/bin/true'];
    spec.root = { path: rootfs, readonly: true };
    patch(spec);
    const dir = join(scratch, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec, null, '\t'));
    return dir;
  };
  return {
    rootfs,
    once: write('once', () => {}),
    long: write('long', (s) => {
      s.process!.args = ['sleep', '1000000'];
    }),
    tight: write('tight', (s) => {
      s.linux!.resources = { ...s.linux!.resources, memory: { limit: 4 * 1024 * 1024 }, pids: { limit: 1 } };
    }),
  };
}

function installed(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

interface Subject {
  column: 'runt' | 'runc' | 'crun';
  cli: Cli;
  runner: Runner;
}

type Samples = Record<string, Partial<Record<Column, number[]>>>;

const errors = new Map<string, string>();

/** Run one measurement; a failure is remembered (first message per metric and column) and counts as missing. */
async function sample<T>(metric: string, column: Column, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (e) {
    const key = `${column} ${metric}`;
    if (!errors.has(key)) errors.set(key, (e as Error).message.split('\n')[0]);
    return undefined;
  }
}

function record(samples: Samples, metric: string, column: Column, value: number | undefined): void {
  if (value === undefined) return;
  ((samples[metric] ??= {})[column] ??= []).push(value);
}

async function main(): Promise<void> {
  if (!existsSync(join(ROOTFS, 'bin/busybox'))) {
    throw new Error(`the bench needs the busybox rootfs: ./install.sh, or scripts/make-rootfs.sh ${ROOTFS}`);
  }
  const loadBefore = loadNow();
  const scratch = mkdtempSync('/tmp/runt-bench-');
  const bundles = makeBundles(scratch);
  const subjects: Subject[] = [
    {
      column: 'runt',
      cli: { name: 'runt', argv: [process.execPath, CLI_JS, '--root', join(scratch, 'runt-root')] },
      runner: localRunner(),
    },
  ];
  if (installed('runc'))
    subjects.push({ column: 'runc', cli: { name: 'runc', argv: ['runc', '--root', join(scratch, 'runc-root')] }, runner: localRunner() });
  if (installed('crun'))
    subjects.push({
      column: 'crun',
      cli: { name: 'crun', argv: ['crun', '--root', join(scratch, 'crun-root')] },
      runner: workerRunner({ privateCgroup2: true }),
    });
  const library = workerRunner();
  const libRoot = join(scratch, 'library-root');
  const local = localRunner();
  const longIds: Array<[Subject | null, string]> = [];
  const samples: Samples = {};
  let n = 0;
  const id = (tag: string) => `bench-${tag}-${process.pid}-${n++}`;

  try {
    process.stderr.write(
      `bench: ${ITERATIONS} iterations (+${WARMUP} warm-up) of ${['runt', 'library', ...subjects.slice(1).map((s) => s.column)].join(', ')}, floor, node -e 0\n`,
    );
    for (const s of subjects) {
      const lid = id(`${s.column}-long`);
      if (await sample('setup', s.column, () => s.runner.call('startLongRunning', s.cli, bundles.long, lid, scratch)))
        longIds.push([s, lid]);
    }
    const libLong = id('lib-long');
    await sample('setup', 'library', () => library.call('libraryStartLongRunning', libRoot, bundles.long, libLong));
    longIds.push([null, libLong]);
    const longOf = (s: Subject) => longIds.find(([x]) => x === s)?.[1];

    type Step = () => Promise<void>;
    const steps = (keep: boolean): Step[] => [
      ...subjects.map((s): Step => async () => {
        const run = await sample('run', s.column, () => s.runner.call<number>('runLatency', s.cli, bundles.once, id(s.column)));
        const lc = await sample('lifecycle', s.column, () =>
          s.runner.call<Lifecycle>('lifecycle', s.cli, bundles.once, id(s.column), scratch),
        );
        const long = longOf(s);
        const exec = long ? await sample('exec', s.column, () => s.runner.call<number>('execLatency', s.cli, long)) : undefined;
        const state = long ? await sample('state', s.column, () => s.runner.call<number>('stateLatency', s.cli, long)) : undefined;
        const kill = long ? await sample('kill', s.column, () => s.runner.call<number>('killLatency', s.cli, long)) : undefined;
        if (!keep) return;
        record(samples, 'run', s.column, run);
        record(samples, 'create', s.column, lc?.create);
        record(samples, 'start', s.column, lc?.start);
        record(samples, 'delete', s.column, lc?.delete);
        record(samples, 'exec', s.column, exec);
        record(samples, 'state', s.column, state);
        record(samples, 'kill', s.column, kill);
      }),
      async () => {
        const r = await sample('run', 'library', () => library.call<LibraryRun>('libraryRun', libRoot, bundles.once, id('lib')));
        const exec = await sample('exec', 'library', () => library.call<number>('libraryExec', libRoot, libLong));
        if (!keep) return;
        record(samples, 'run', 'library', r?.total);
        record(samples, 'create', 'library', r?.create);
        record(samples, 'start', 'library', r?.start);
        record(samples, 'wait', 'library', r?.wait);
        record(samples, 'delete', 'library', r?.delete);
        record(samples, 'exec', 'library', exec);
      },
      async () => {
        const ms = await sample('run', 'floor', async () => timeCommand(floorArgv(bundles.rootfs)));
        if (keep) record(samples, 'run', 'floor', ms);
      },
      async () => {
        const ms = await sample('run', 'node', async () => timeCommand([process.execPath, '-e', '0']));
        if (keep) record(samples, 'run', 'node', ms);
      },
    ];
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      const all = steps(i >= WARMUP);
      // Rotate the order each iteration so no runtime always follows the same neighbour.
      for (let k = 0; k < all.length; k++) await all[(i + k) % all.length]();
      process.stderr.write(i < WARMUP ? 'w' : '.');
    }
    process.stderr.write('\n');

    for (let round = 0; round < 2; round++) {
      for (const s of subjects) {
        record(
          samples,
          'parallel',
          s.column,
          await sample('parallel', s.column, () =>
            s.runner.call<number>('parallelThroughput', s.cli, bundles.once, id(`${s.column}-par`), 2, PER_LOOP),
          ),
        );
      }
      record(
        samples,
        'parallel',
        'library',
        await sample('parallel', 'library', () =>
          library.call<number>('libraryParallel', libRoot, bundles.once, id('lib-par'), 2, PER_LOOP),
        ),
      );
      record(
        samples,
        'parallel8',
        'library',
        await sample('parallel8', 'library', () =>
          library.call<number>('libraryParallel', libRoot, bundles.once, id('lib-par8'), 8, Math.ceil(PER_LOOP / 2)),
        ),
      );
      record(
        samples,
        'parallel',
        'floor',
        await sample('parallel', 'floor', () => local.call<number>('floorThroughput', bundles.rootfs, 2, PER_LOOP)),
      );
    }
    process.stderr.write('bench: throughput done\n');

    // CPU time per operation: what a busy machine (wall times above) disturbs least.
    const times = (f: (k: number) => string[]) => Array.from({ length: ITERATIONS }, (_, k) => f(k));
    for (const s of subjects) {
      const prefix = id(`${s.column}-cpu`);
      record(
        samples,
        'cpuRun',
        s.column,
        await sample('cpu', s.column, () =>
          s.runner.call<number>(
            'commandsCpuMs',
            times((k) => [...s.cli.argv, 'run', '--bundle', bundles.once, `${prefix}-${k}`]),
          ),
        ),
      );
      const long = longOf(s);
      if (long)
        record(
          samples,
          'cpuState',
          s.column,
          await sample('cpu', s.column, () =>
            s.runner.call<number>(
              'commandsCpuMs',
              times(() => [...s.cli.argv, 'state', long]),
            ),
          ),
        );
    }
    record(
      samples,
      'cpuRun',
      'library',
      await sample('cpu', 'library', () => library.call<number>('libraryCpuPerRun', libRoot, bundles.once, id('lib-cpu'), ITERATIONS)),
    );
    record(
      samples,
      'cpuRun',
      'floor',
      await sample('cpu', 'floor', () =>
        local.call<number>(
          'commandsCpuMs',
          times(() => floorArgv(bundles.rootfs)),
        ),
      ),
    );
    record(
      samples,
      'cpuRun',
      'node',
      await sample('cpu', 'node', () =>
        local.call<number>(
          'commandsCpuMs',
          times(() => [process.execPath, '-e', '0']),
        ),
      ),
    );

    for (let k = 0; k < 3; k++) {
      for (const s of subjects) {
        record(
          samples,
          'rss',
          s.column,
          await sample('rss', s.column, () =>
            s.runner.call<number>('peakRssKb', [...s.cli.argv, 'run', '--bundle', bundles.once, id(`${s.column}-rss`)]),
          ),
        );
        const m = await sample('parked', s.column, () =>
          s.runner.call<InitMemory>('parkedInitMemory', s.cli, bundles.once, id(`${s.column}-mem`), scratch),
        );
        record(samples, 'parkedRss', s.column, m?.rssKb);
        record(samples, 'parkedPss', s.column, m?.pssKb);
      }
      const m = await sample('parked', 'library', () =>
        library.call<InitMemory>('libraryParkedInitMemory', libRoot, bundles.once, id('lib-mem')),
      );
      record(samples, 'parkedRss', 'library', m?.rssKb);
      record(samples, 'parkedPss', 'library', m?.pssKb);
      record(samples, 'rss', 'node', await sample('rss', 'node', () => local.call<number>('peakRssKb', [process.execPath, '-e', '0'])));
    }
    record(samples, 'rss', 'library', await sample('rss', 'library', () => library.call<number>('libraryPeakRssKb')));
    const tight: Partial<Record<Column, boolean>> = {};
    for (const s of subjects) tight[s.column] = await s.runner.call<boolean>('runSucceeds', s.cli, bundles.tight, id(`${s.column}-tight`));
    process.stderr.write('bench: memory done\n');

    report(
      samples,
      tight,
      loadBefore,
      subjects.map((s) => s.column),
    );
  } finally {
    for (const [s, lid] of longIds) {
      if (s) await s.runner.call('forceDelete', s.cli, lid).catch(() => {});
      else await library.call('libraryDelete', libRoot, lid).catch(() => {});
    }
    await library.close();
    for (const s of subjects) await s.runner.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

function report(samples: Samples, tight: Partial<Record<Column, boolean>>, loadBefore: string, peers: Column[]): void {
  const med = (metric: string, c: Column) => {
    const xs = samples[metric]?.[c];
    return xs?.length ? median(xs) : undefined;
  };
  const mean = (metric: string, c: Column) => {
    const xs = samples[metric]?.[c];
    return xs?.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
  };
  const cols: Column[] = ['runt', 'library', ...peers.filter((c) => c !== 'runt'), 'floor', 'node'];
  const row = (title: string, metric: string, unit: Row['unit'], pick = med, lowerIsBetter = true): Row => ({
    title,
    unit,
    lowerIsBetter,
    values: Object.fromEntries(cols.map((c) => [c, pick(metric, c)]).filter(([, v]) => v !== undefined)),
  });
  const rows: Row[] = [
    row('`run` of /bin/true', 'run', 'ms'),
    row('`create`', 'create', 'ms'),
    row('`start`', 'start', 'ms'),
    row('wait for exit (library)', 'wait', 'ms'),
    row('`delete`', 'delete', 'ms'),
    row('`exec` of /bin/true', 'exec', 'ms'),
    row('`state`', 'state', 'ms'),
    row('`kill` (SIGCONT)', 'kill', 'ms'),
    row('CPU time per `run` (user+sys)', 'cpuRun', 'ms'),
    row('CPU time per `state` (user+sys)', 'cpuState', 'ms'),
    row('2 parallel loops of `run`', 'parallel', '/s', mean, false),
    row('8 parallel loops of `run`', 'parallel8', '/s', mean, false),
    row('peak RSS of the runtime', 'rss', 'MB'),
    row('parked init RSS', 'parkedRss', 'MB'),
    row('parked init PSS', 'parkedPss', 'MB'),
    { title: 'memory.limit 4 MiB + pids.limit 1 runs', unit: 'ok', lowerIsBetter: false, values: tight },
  ];
  const table = markdownTable(rows, cols);

  const v = (metric: string, c: Column) => med(metric, c);
  const nodeMs = v('run', 'node');
  const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined ? a / b : undefined);
  const x = (r?: number) => (r === undefined ? 'n/a' : `${r.toFixed(2)}x`);
  const ms = (a?: number) => (a === undefined ? 'n/a' : `${a.toFixed(1)} ms`);
  const libRunVsCrun = ratio(v('run', 'library'), v('run', 'crun'));
  const libParVsCrun = ratio(mean('parallel', 'library'), mean('parallel', 'crun'));
  const cliRunVsRunc = ratio(v('run', 'runt'), v('run', 'runc'));
  const cliExecVsRunc = ratio(v('exec', 'runt'), v('exec', 'runc'));
  const pssVsCrun = ratio(v('parkedPss', 'runt'), v('parkedPss', 'crun'));
  const overhead = (metric: string) => {
    const a = v(metric, 'runt');
    return a === undefined || nodeMs === undefined ? 'n/a' : `${a.toFixed(1)} ms = node -e 0 + ${(a - nodeMs).toFixed(1)} ms`;
  };
  const targets: Target[] = [
    {
      what: 'library create+start+wait+delete ≤ 0.5x crun `run`',
      measured: `${ms(v('run', 'library'))} vs ${ms(v('run', 'crun'))}: ${x(libRunVsCrun)}`,
      met: libRunVsCrun === undefined ? undefined : libRunVsCrun <= 0.5,
    },
    {
      what: 'library ≤ 2x the floor',
      measured: x(ratio(v('run', 'library'), v('run', 'floor'))),
      met: ratio(v('run', 'library'), v('run', 'floor')) === undefined ? undefined : ratio(v('run', 'library'), v('run', 'floor'))! <= 2,
    },
    {
      what: 'library parallel throughput ≥ 2x crun',
      measured: x(libParVsCrun),
      met: libParVsCrun === undefined ? undefined : libParVsCrun >= 2,
    },
    { what: 'CLI `run` ≤ 1.0x runc', measured: x(cliRunVsRunc), met: cliRunVsRunc === undefined ? undefined : cliRunVsRunc <= 1 },
    { what: 'CLI `exec` ≤ 1.0x runc', measured: x(cliExecVsRunc), met: cliExecVsRunc === undefined ? undefined : cliExecVsRunc <= 1 },
    { what: 'CLI `start` close to node -e 0', measured: overhead('start'), met: undefined },
    { what: 'CLI `kill` close to node -e 0', measured: overhead('kill'), met: undefined },
    { what: 'CLI `delete` close to node -e 0', measured: overhead('delete'), met: undefined },
    { what: 'CLI `state` close to node -e 0', measured: overhead('state'), met: undefined },
    { what: 'parked init PSS ≤ crun', measured: x(pssVsCrun), met: pssVsCrun === undefined ? undefined : pssVsCrun <= 1 },
    {
      what: '4 MiB memory + pids.limit 1 runs /bin/true',
      measured: tight.runt === undefined ? 'n/a' : tight.runt ? 'yes' : 'no',
      met: tight.runt,
    },
  ];
  const machine = describeMachine(loadBefore);
  const failures = [...errors].map(([k, m]) => `- ${k}: ${m}`).join('\n');
  const section = [
    '## Latest bench run',
    '',
    machineText(machine, ITERATIONS, PER_LOOP),
    '',
    table,
    '',
    'Ratios in parentheses are to runc. "kernel floor": `unshare --fork --pid --mount --uts --ipc --net --mount-proc chroot ROOTFS /bin/true`. crun runs in a private mount namespace whose cgroup2 mount is covered by an empty tmpfs (it refuses hybrid hosts); runt and runc run as engines call them.',
    '',
    '### Targets (issue 6)',
    '',
    targetsTable(targets),
    ...(failures ? ['', '### Measurements that failed', '', failures] : []),
  ].join('\n');
  process.stdout.write(`\n${section}\n`);
  if (!flags['no-write']) {
    const doc = join(REPO, 'docs/PERFORMANCE.md');
    writeGeneratedSection(doc, section);
    process.stderr.write(`bench: wrote ${doc}\n`);
  }
}

await main();
