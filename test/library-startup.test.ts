// The CLI's start-up fast path (src/cli/fast-path.ts) must hand each command's handler exactly the
// argv yargs would, and must leave to yargs every command line it is not sure about.
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import type { CommandModule } from 'yargs';
import { fastArgv } from '../src/cli/fast-path.js';
import { buildCli } from '../src/cli/yargs-cli.js';
import { commands } from '../src/cli/commands/index.js';

async function yargsArgv(args: string[]): Promise<Record<string, unknown> | undefined> {
  let seen: Record<string, unknown> | undefined;
  const list = commands.map((c) => ({ ...c, handler: (a: Record<string, unknown>) => { seen = a; } })) as unknown as CommandModule<never, never>[];
  await buildCli(args, list).exitProcess(false).parseAsync();
  return seen;
}

const SAME = [
  ['state', 'x'], ['--root', '/r', 'state', 'x'], ['--root=/r', 'state', 'x'], ['state', 'x', '--root', '/r'],
  ['--root', '/r', '--log', '/l.json', '--log-format', 'json', 'start', 'id1'], ['--systemd-cgroup', 'start', 'x'],
  ['kill', 'x'], ['kill', 'x', '9'], ['kill', '-a', 'x', 'KILL'], ['kill', '--all', 'x', 'TERM'],
  ['delete', 'x'], ['delete', '-f', 'x'], ['delete', '--force', 'x'], ['--debug', 'delete', 'x'],
  ['create', '--bundle', '/b', 'x'], ['create', '-b', '/b', '--pid-file', '/p', 'x'],
  ['create', '--bundle=/b', '--console-socket', '/s', '--no-pivot', '--no-new-keyring', 'x'],
  ['create', '--preserve-fds', '2', 'x'], ['run', '-d', '--bundle', '/b', 'x'], ['run', '--keep', 'x'], ['run', '--trace', 'x'],
  ['exec', 'x', 'ls', '-la'], ['exec', '--pid-file', '/p', '-e', 'A=1', '-e', 'B=2', '--cwd', '/tmp', 'x', 'sh', '-c', 'echo $A'],
  ['exec', '--process', '/p.json', '--detach', 'x'], ['exec', '-t', '-u', '1000:1000', 'x', 'id'], ['exec', '--cap', 'CAP_KILL', 'x', 'true'],
  ['--log-format', 'json', '--log', '/b/log.json', '--root', '/run/containerd/runc/default', 'delete', '--force', 'x'],
];

const FALLBACK = [
  ['state'], ['state', 'x', 'y'], ['--help'], ['state', '--help'], ['--version'], ['state', '--bogus', 'x'],
  ['delete', '--force=false', 'x'], ['delete', '--force', 'false', 'x'], ['list'], ['spec'], ['kill', 'x', '--', '9'],
  ['--root', '/a', '--root', '/b', 'state', 'x'], ['--log-format', 'xml', 'state', 'x'], ['create', '--preserve-fds', 'many', 'x'],
  ['create', '--pidFile', '/p', 'x'], [],
];

t.test('the fast path builds the argv yargs builds', async (t) => {
  for (const args of SAME) {
    const fast = await fastArgv(args);
    t.ok(fast, `fast path taken: ${args.join(' ')}`);
    const slow = await yargsArgv(args);
    const keys = new Set([...Object.keys(fast?.argv ?? {}), ...Object.keys(slow ?? {})]);
    const diff = [...keys].filter((k) => k !== '$0' && !isDeepStrictEqual(fast?.argv[k], slow?.[k]));
    t.same(diff, [], `same argv: ${args.join(' ')}`);
  }
});

t.test('anything unusual is left to yargs', async (t) => {
  for (const args of FALLBACK) t.equal(await fastArgv(args), null, args.join(' ') || '(no arguments)');
});
