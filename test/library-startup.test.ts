// The CLI's start-up fast path (src/cli/fast-path.ts) must hand each command's handler exactly the
// argv yargs would, and must leave to yargs every command line it is not sure about; the bin
// (bin/runt.cjs, the CLI bundle with its code cache) must behave as the ESM build does.
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import type { Argv, CommandModule } from 'yargs';
import { imageCommand, imageSubcommands } from '../src/cli/commands/image.js';
import { fastArgv } from '../src/cli/fast-path.js';
import { buildCli } from '../src/cli/yargs-cli.js';
import { commands } from '../src/cli/commands/index.js';
import { REPO } from './helpers/runt.js';

async function yargsArgv(args: string[]): Promise<Record<string, unknown> | undefined> {
  let seen: Record<string, unknown> | undefined;
  const handler = (a: Record<string, unknown>) => {
    seen = a;
  };
  // `image`'s subcommands are registered by its builder: theirs are replaced too.
  const list = commands.map((c) =>
    c === imageCommand
      ? {
          ...c,
          builder: (y: Argv) => imageSubcommands.reduce((yy, s) => yy.command({ ...s, handler } as never), y).demandCommand(1),
        }
      : { ...c, handler },
  ) as unknown as CommandModule<never, never>[];
  await buildCli(args, list).exitProcess(false).parseAsync();
  return seen;
}

const SAME = [
  ['state', 'x'],
  ['--root', '/r', 'state', 'x'],
  ['--root=/r', 'state', 'x'],
  ['state', 'x', '--root', '/r'],
  ['--root', '/r', '--log', '/l.json', '--log-format', 'json', 'start', 'id1'],
  ['--systemd-cgroup', 'start', 'x'],
  ['kill', 'x'],
  ['kill', 'x', '9'],
  ['kill', '-a', 'x', 'KILL'],
  ['kill', '--all', 'x', 'TERM'],
  ['delete', 'x'],
  ['delete', '-f', 'x'],
  ['delete', '--force', 'x'],
  ['--debug', 'delete', 'x'],
  ['create', '--bundle', '/b', 'x'],
  ['create', '-b', '/b', '--pid-file', '/p', 'x'],
  ['create', '--bundle=/b', '--console-socket', '/s', '--no-pivot', '--no-new-keyring', 'x'],
  ['create', '--preserve-fds', '2', 'x'],
  ['run', '-d', '--bundle', '/b', 'x'],
  ['run', '--keep', 'x'],
  ['run', '--trace', 'x'],
  ['exec', 'x', 'ls', '-la'],
  ['exec', '--pid-file', '/p', '-e', 'A=1', '-e', 'B=2', '--cwd', '/tmp', 'x', 'sh', '-c', 'echo $A'],
  ['exec', '--process', '/p.json', '--detach', 'x'],
  ['exec', '-t', '-u', '1000:1000', 'x', 'id'],
  ['exec', '--cap', 'CAP_KILL', 'x', 'true'],
  ['--log-format', 'json', '--log', '/b/log.json', '--root', '/run/containerd/runc/default', 'delete', '--force', 'x'],
  ['run', '--image', 'busybox', 'x', '--', 'sh', '-c', 'true'],
  ['image', 'pull', 'busybox'],
  ['--store', '/s', 'image', 'pull', '-q', '--no-unpack', '--platform', 'linux/arm64/v8', '--timeout', '5', 'reg:5000/a/b:1'],
  ['image', 'pull', '--insecure', '--creds', 'u:p', '--max-layer-bytes', '1000', '--progress-json', 'x@sha256:00'],
  ['image', 'ls'],
  ['image', 'list', '--format', 'json'],
  ['--store', '/s', 'image', 'ls', '-f', 'json'],
];

const FALLBACK = [
  ['state'],
  ['state', 'x', 'y'],
  ['--help'],
  ['state', '--help'],
  ['--version'],
  ['state', '--bogus', 'x'],
  ['delete', '--force=false', 'x'],
  ['delete', '--force', 'false', 'x'],
  ['list'],
  ['spec'],
  ['kill', 'x', '--', '9'],
  ['--root', '/a', '--root', '/b', 'state', 'x'],
  ['--log-format', 'xml', 'state', 'x'],
  ['create', '--preserve-fds', 'many', 'x'],
  ['create', '--pidFile', '/p', 'x'],
  ['image'],
  ['image', 'pull'],
  ['image', 'pull', 'a', 'b'],
  ['image', 'ls', '--format', 'xml'],
  ['image', '--store', '/s', 'ls'],
  ['image', 'rm', 'x'],
  ['image', 'pull', '--help', 'x'],
  [],
];

t.test('the fast path builds the argv yargs builds', async (t) => {
  for (const args of SAME) {
    const fast = await fastArgv(args);
    t.ok(fast, `fast path taken: ${args.join(' ')}`);
    const slow = await yargsArgv(args);
    const keys = new Set([...Object.keys(fast?.argv ?? {}), ...Object.keys(slow ?? {})]);
    const diff = [...keys].filter((k) => k !== '$0' && !isDeepStrictEqual(fast?.argv[k], slow?.[k]));
    t.same(
      diff.map((k) => [k, fast?.argv[k], slow?.[k]]),
      [],
      `same argv: ${args.join(' ')}`,
    );
  }
});

t.test('anything unusual is left to yargs', async (t) => {
  for (const args of FALLBACK) t.equal(await fastArgv(args), null, args.join(' ') || '(no arguments)');
});

// The command users run is bin/runt.cjs: the CLI bundled into dist/runt-cli.cjs (scripts/bundle.mjs)
// and run with V8's code cache. It must answer exactly as the ESM build does, load no more for a hot
// command than the ESM fast path does, and never depend on its cache.
const BIN = join(REPO, 'bin/runt.cjs');
const ESM_CLI = join(REPO, 'dist/src/cli/main.js');

function node(script: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_EXTRA_CA_CERTS;
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('the bin answers as the ESM build does', async (t) => {
  const root = mkdtempSync('/tmp/runt-startup-root-');
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const args of [
    ['--version'],
    ['-v'],
    ['--root', root, 'state', 'nosuch'],
    ['--root', root, 'list', '--format', 'json'],
    ['--root', root, 'kill'],
  ]) {
    t.same(node(BIN, args), node(ESM_CLI, args), args.join(' '));
  }
  // The bundle is CommonJS and so gets yargs's CommonJS build, whose help wraps long lines at word
  // boundaries where the ESM build cuts words: the same text otherwise.
  const words = (r: { code: number | null; stdout: string; stderr: string }) => ({ ...r, stdout: r.stdout.replace(/\s+/g, '') });
  for (const args of [['--help'], ['spec', '--help']]) {
    t.same(words(node(BIN, args)), words(node(ESM_CLI, args)), `${args.join(' ')} (but for where lines wrap)`);
  }
});

/** The CLI bundle run in this process, its module registry and every bare require it made (the
 *  built-ins and packages it loaded), to see what a command's path loads. */
function loadBundle(): { registry: { load(id: string): Record<string, unknown>; isLoaded(id: string): boolean }; bare: string[] } {
  const bundle = join(REPO, 'dist/runt-cli.cjs');
  const bare: string[] = [];
  const realRequire = createRequire(bundle);
  const registry = new Script(readFileSync(bundle, 'utf8'), { filename: bundle }).runInThisContext()(
    (id: string) => {
      bare.push(id);
      return realRequire(id);
    },
    bundle,
    dirname(bundle),
  ) as { load(id: string): Record<string, unknown>; isLoaded(id: string): boolean };
  return { registry, bare };
}

t.test('the bundle loads, for state, what the fast path needs and no more', async (t) => {
  const { registry, bare } = loadBundle();
  const fastPath = registry.load('src/cli/fast-path.js') as unknown as typeof import('../src/cli/fast-path.js');
  t.ok(await fastPath.fastArgv(['state', 'x']), 'state takes the fast path in the bundle');
  t.ok(registry.isLoaded('src/cli/commands/state.js') && registry.isLoaded('src/runtime.js'), 'the command and the runtime are loaded');
  for (const id of ['src/cli/yargs-cli.js', 'src/plan/build.js', 'src/lifecycle/create.js', 'src/hooks.js', 'src/cli/commands/create.js']) {
    t.notOk(registry.isLoaded(id), `${id} not loaded`);
  }
  t.notOk(bare.includes('yargs'), 'yargs not required');
  for (const id of LAZY_BUILTINS) t.notOk(bare.includes(id), `${id} not required`);
});

// Built-ins that each add 1.5-2 MB to a command's peak RSS and that a plain run or state never uses:
// they load where they are used (D-Bus worker, CNI plugins, hooks, newuidmap, anonymous volume names).
const LAZY_BUILTINS = ['node:child_process', 'node:crypto', 'node:worker_threads', 'node:stream', 'node:net'];

t.test('the bundle loads, for run, none of the built-ins a plain run does not use', async (t) => {
  const { registry, bare } = loadBundle();
  for (const id of ['src/cli/commands/run.js', 'src/lifecycle/create.js', 'src/lifecycle/start.js', 'src/lifecycle/delete.js'])
    registry.load(id);
  t.ok(
    registry.isLoaded('src/cgroups/systemd/dbus.js') && registry.isLoaded('src/lifecycle/id-maps.js'),
    'the D-Bus client and the id maps are loaded',
  );
  t.ok(registry.isLoaded('src/network/store.js') && registry.isLoaded('src/volume/store.js'), 'the network and volume stores are loaded');
  for (const id of LAZY_BUILTINS) t.notOk(bare.includes(id), `${id} not required`);
});

t.test('the bundle loads, for a command yargs runs (all the commands), no node:child_process', async (t) => {
  const { registry, bare } = loadBundle();
  registry.load('src/cli/commands/index.js');
  t.ok(
    registry.isLoaded('src/cli/commands/ps.js') && registry.isLoaded('src/network/plugin.js'),
    'ps and the CNI plugin caller are loaded',
  );
  t.notOk(bare.includes('node:child_process'), 'node:child_process not required');
});

t.test('the code cache: made by the build, one per fast-path command, never needed', async (t) => {
  // A copy of the package's files the bin needs, so the caches written are this test's own.
  const pkg = mkdtempSync('/tmp/runt-startup-pkg-');
  const root = mkdtempSync('/tmp/runt-startup-root-');
  t.teardown(() => {
    rmSync(pkg, { recursive: true, force: true });
    rmSync(root, { recursive: true, force: true });
  });
  mkdirSync(join(pkg, 'bin'));
  mkdirSync(join(pkg, 'dist'));
  copyFileSync(BIN, join(pkg, 'bin/runt.cjs'));
  copyFileSync(join(REPO, 'dist/runt-cli.cjs'), join(pkg, 'dist/runt-cli.cjs'));
  copyFileSync(join(REPO, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(REPO, 'build'), join(pkg, 'build'));
  symlinkSync(join(REPO, 'node_modules'), join(pkg, 'node_modules'));
  const bin = join(pkg, 'bin/runt.cjs');
  const shared = join(pkg, 'dist/runt-cli.cjs.cache');
  const stateCache = join(pkg, 'dist/runt-cli.cjs.state.cache');
  const hash = readFileSync(join(pkg, 'dist/runt-cli.cjs'), 'utf8').split(' ')[2];
  const header = (f: string) => readFileSync(f).toString('latin1').split('\n')[0];
  const files = () => readdirSync(join(pkg, 'dist')).sort();
  const missing = ['--root', root, 'state', 'nosuch'];
  const expected = node(ESM_CLI, missing);

  t.same(node(bin, ['--version']), node(ESM_CLI, ['--version']), 'runs without a cache');
  t.equal(header(shared), `runt-cli-cache ${hash} ${process.version} ${process.arch}`, 'and writes the shared one');
  t.equal(createRequire(import.meta.url)(bin).prime(), true, "the build's way of making it works too");
  t.same(node(bin, missing), expected, 'a fast-path command runs with it');
  t.ok(statSync(stateCache).size > 0, 'and writes its own');
  const before = [statSync(shared).mtimeMs, statSync(stateCache).mtimeMs];
  t.same(node(bin, missing), expected, 'runs with its own');
  t.same(node(bin, ['--root', root, 'list']), node(ESM_CLI, ['--root', root, 'list']), 'a command through yargs runs with the shared one');
  t.same(node(bin, ['--root', root, 'state']).code, 1, 'and so does a fast-path command yargs handles');
  t.same([statSync(shared).mtimeMs, statSync(stateCache).mtimeMs], before, 'none of them writes a cache again');
  t.same(files(), ['runt-cli.cjs', 'runt-cli.cjs.cache', 'runt-cli.cjs.state.cache'], 'no other cache');

  writeFileSync(stateCache, Buffer.concat([Buffer.from(`${header(stateCache)}\n`, 'latin1'), Buffer.alloc(4096, 7)]));
  t.same(node(bin, missing), expected, 'a cache V8 rejects is ignored');
  t.ok(statSync(stateCache).size > 4096 + 100, 'and replaced');

  writeFileSync(shared, 'runt-cli-cache 0000 v0 x64\nxx');
  t.same(node(bin, ['--version']), node(ESM_CLI, ['--version']), 'a cache for another bundle is ignored');
  t.equal(header(shared), `runt-cli-cache ${hash} ${process.version} ${process.arch}`, 'and replaced');

  rmSync(stateCache);
  mkdirSync(stateCache);
  t.same(node(bin, missing), expected, 'a cache that cannot be written changes nothing');
  t.same(files(), ['runt-cli.cjs', 'runt-cli.cjs.cache', 'runt-cli.cjs.state.cache'], 'and leaves no temporary file');
});
