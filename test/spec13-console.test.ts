// /dev/console for process.terminal: the init's pty is bound on /dev/console through fds only. An
// image whose /dev/console is a symlink (to a file of its own, or dangling to a host-looking path)
// cannot turn that bind into a mount somewhere else (the CVE-2025-52565 class): the link is
// replaced, its target is untouched, nothing is created where it pointed.
import t from 'tap';
import type { Test } from 'tap';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readMaster } from './helpers/pty.js';
import { ConsoleSocket } from '../src/terminal/console-socket.js';
import { describe, makeBundle, parseMountinfo, stateRoot, type Bundle, type StateRoot } from './helpers/index.js';

/** create with a console socket, start, and everything the container wrote to its terminal. */
async function runOnTerminal(t: Test, root: StateRoot, b: Bundle): Promise<string> {
  const socket = new ConsoleSocket(join(b.dir, 'console.sock'));
  t.teardown(() => socket.close());
  const received = socket.receive();
  const c = root.create(b, undefined, ['--console-socket', socket.path]);
  t.equal(c.code, 0, describe(c) + (existsSync(join(b.dir, 'create.stderr')) ? readFileSync(join(b.dir, 'create.stderr'), 'utf8') : ''));
  if (c.code !== 0) return '';
  const output = readMaster((await received).fd);
  t.equal(root.runt(['start', c.id]).code, 0);
  return (await output).replace(/\r\n/g, '\n');
}

const SCRIPT = [
  'echo "tty=$(tty)"',
  'echo "console=$(stat -L -c %t:%T /dev/console) pty=$(stat -L -c %t:%T $(tty))"',
  '[ -L /dev/console ] && echo link=yes || echo link=no',
  'echo ---; cat /proc/self/mountinfo',
].join('; ');

function parse(text: string) {
  const [head, mounts = ''] = text.split('---\n');
  const kv = Object.fromEntries(
    head
      .split(/\s+/)
      .filter((w) => w.includes('='))
      .map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]),
  );
  return { kv, mounts: parseMountinfo(mounts) };
}

t.test('terminal: true gives the init a /dev/console that is its pty', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, SCRIPT, (s) => {
    s.process!.terminal = true;
  });
  const { kv, mounts } = parse(await runOnTerminal(t, root, b));
  t.match(kv.tty, /^\/dev\/pts\/\d+$/);
  t.equal(kv.console, kv.pty, 'same device numbers as the pty');
  t.equal(mounts.filter((m) => m.mountPoint === '/dev/console').pop()?.fstype, 'devpts', '/dev/console is a bind from devpts');
});

t.test('an image whose /dev/console is a symlink cannot redirect the console bind', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, SCRIPT, (s, bundle) => {
    s.process!.terminal = true;
    s.root!.readonly = false;
    // The image's own /dev (no tmpfs over it), with the planted links.
    s.mounts = s.mounts!.filter((m) => m.destination !== '/dev');
    mkdirSync(join(bundle.rootfs, 'dev'), { recursive: true });
    for (const d of ['pts', 'shm', 'mqueue']) mkdirSync(join(bundle.rootfs, 'dev', d), { recursive: true });
    writeFileSync(join(bundle.rootfs, 'etc', 'target'), 'untouched\n');
    symlinkSync('/etc/target', join(bundle.rootfs, 'dev', 'console'));
  });
  const { kv, mounts } = parse(await runOnTerminal(t, root, b));
  t.equal(kv.link, 'no', '/dev/console is no longer a link');
  t.equal(kv.console, kv.pty, '/dev/console is the pty');
  t.notOk(
    mounts.some((m) => m.mountPoint === '/etc/target'),
    "nothing is mounted on the link's target",
  );
  t.equal(readFileSync(join(b.rootfs, 'etc', 'target'), 'utf8'), 'untouched\n', "the link's target is unchanged");

  const dangling = makeBundle(t, SCRIPT, (s, bundle) => {
    s.process!.terminal = true;
    s.root!.readonly = false;
    s.mounts = s.mounts!.filter((m) => m.destination !== '/dev');
    for (const d of ['pts', 'shm', 'mqueue']) mkdirSync(join(bundle.rootfs, 'dev', d), { recursive: true });
    symlinkSync('/run/host-console', join(bundle.rootfs, 'dev', 'console'));
  });
  const second = parse(await runOnTerminal(t, root, dangling));
  t.equal(second.kv.link, 'no');
  t.equal(second.kv.console, second.kv.pty);
  t.notOk(existsSync(join(dangling.rootfs, 'run', 'host-console')), 'nothing was created where the dangling link pointed');
  t.notOk(existsSync('/run/host-console'), 'nor on the host');
});

t.test('on a read-only rootfs a planted /dev/console link fails create, naming the field; nothing is followed', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true', (s, bundle) => {
    s.process!.terminal = true;
    s.root!.readonly = true;
    s.mounts = s.mounts!.filter((m) => m.destination !== '/dev');
    for (const d of ['pts', 'shm', 'mqueue']) mkdirSync(join(bundle.rootfs, 'dev', d), { recursive: true });
    writeFileSync(join(bundle.rootfs, 'etc', 'target'), 'untouched\n');
    symlinkSync('/etc/target', join(bundle.rootfs, 'dev', 'console'));
  });
  const socket = new ConsoleSocket(join(b.dir, 'console.sock'));
  t.teardown(() => socket.close());
  socket.receive().catch(() => undefined);
  const c = root.create(b, undefined, ['--console-socket', socket.path]);
  t.not(c.code, 0);
  t.match(c.stderr.trim(), /^process\.terminal: \/dev\/console: remove what the image put there: EROFS/);
  t.equal(readFileSync(join(b.rootfs, 'etc', 'target'), 'utf8'), 'untouched\n');
  t.same(root.entries(), [], 'no state left');
});

t.test("exec -t gets its own pty and leaves the init's /dev/console alone", async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const id = root.id('console');
  const run = root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'o'), stderrFile: join(b.dir, 'e') });
  t.equal(run.code, 0, describe(run));
  const socket = new ConsoleSocket(join(b.dir, 'console.sock'));
  t.teardown(() => socket.close());
  const received = socket.receive();
  const r = root.runt([
    'exec',
    '-t',
    '-d',
    '--console-socket',
    socket.path,
    id,
    'sh',
    '-c',
    'grep -c " /dev/console " /proc/self/mountinfo; sleep 0.2',
  ]);
  t.equal(r.code, 0, describe(r));
  const text = await readMaster((await received).fd);
  t.equal(text.trim(), '0', 'no console mount for a container without a terminal');
});
