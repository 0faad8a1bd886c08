// File descriptors: nothing of the runtime's reaches the container, --preserve-fds passes exactly
// the fds asked for (with LISTEN_FDS), and the container's stdio is in blocking mode.
import t from 'tap';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, makeBundle, onTeardown, stateRoot, waitFor, waitForFile } from './helpers/index.js';

function fdList(text: string): number[] {
  return text
    .trim()
    .split(/\s+/)
    .map(Number)
    .sort((a, b) => a - b);
}

t.test('no fd of the runtime reaches the container', async (t) => {
  const root = stateRoot(t);
  // An fd runt itself inherited (3) must not leak either without --preserve-fds.
  const stray = openSync('/dev/null', 'r');
  onTeardown(t, () => closeSync(stray));

  t.test('as the process inside sees it', async (t) => {
    const r = root.run(makeBundle(t, 'ls /proc/self/fd'), undefined, [], { extraFds: [stray] });
    t.equal(r.code, 0, describe(r));
    t.same(fdList(r.stdout), [0, 1, 2, 3], 'ls sees 0, 1, 2 and its own directory fd');
  });

  t.test('as the host sees the init after exec', async (t) => {
    const b = makeBundle(t, ['sleep', '1000']);
    const id = root.id('fds');
    const c = root.runt(['create', '--bundle', b.dir, id], {
      extraFds: [stray],
      stdoutFile: join(b.dir, 'out'),
      stderrFile: join(b.dir, 'err'),
    });
    t.equal(c.code, 0, describe(c));
    t.equal(root.runt(['start', id]).code, 0);
    const pid = root.state(id)?.pid ?? 0;
    await waitFor('sleep to run', () => readFileSync(`/proc/${pid}/comm`, 'utf8') === 'sleep\n');
    t.same(fdList(readdirSync(`/proc/${pid}/fd`).join(' ')), [0, 1, 2], 'the init holds only 0, 1, 2');
  });
});

t.test('--preserve-fds 2 passes fds 3 and 4 and sets LISTEN_FDS', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'echo to-3 >&3; echo to-4 >&4; echo "LISTEN_FDS=$LISTEN_FDS"; ls /proc/self/fd');
  const files = [join(b.dir, 'fd3'), join(b.dir, 'fd4')];
  const fds = files.map((f) => openSync(f, 'a'));
  onTeardown(t, () => fds.forEach((fd) => closeSync(fd)));
  const r = root.run(b, undefined, ['--preserve-fds', '2'], { extraFds: fds });
  t.equal(r.code, 0, describe(r));
  t.equal(readFileSync(files[0], 'utf8'), 'to-3\n', 'fd 3 arrived');
  t.equal(readFileSync(files[1], 'utf8'), 'to-4\n', 'fd 4 arrived');
  const [listen, ...ls] = r.stdout.trim().split('\n');
  t.equal(listen, 'LISTEN_FDS=2');
  t.same(fdList(ls.join(' ')), [0, 1, 2, 3, 4, 5], 'ls sees 0-4 and its own directory fd');
});

// Sets O_NONBLOCK on fds 0-2 (shared file descriptions) and execs the rest of the command line.
const NONBLOCK_WRAPPER = [
  'perl',
  '-MFcntl',
  '-e',
  'our @h; for my $fd (0, 1, 2) { open(my $h, $fd ? ">&=" : "<&=", $fd) or die "fd $fd: $!"; push @h, $h; ' +
    'my $fl = fcntl($h, F_GETFL, 0) or die "getfl: $!"; fcntl($h, F_SETFL, $fl | O_NONBLOCK) or die "setfl: $!" } ' +
    'exec { $ARGV[0] } @ARGV or die "exec: $!"',
];
const O_NONBLOCK = 0o4000;
// The shell's own fds are read first; only then is the output redirected to the file.
const PRINT_FLAGS =
  'f0=$(grep flags /proc/$$/fdinfo/0 | cut -f2); f1=$(grep flags /proc/$$/fdinfo/1 | cut -f2); ' +
  'f2=$(grep flags /proc/$$/fdinfo/2 | cut -f2); printf "0 %s\\n1 %s\\n2 %s\\n" "$f0" "$f1" "$f2" > /m/flags';

function nonblocking(flagsText: string): number[] {
  return flagsText
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .filter(([, f]) => (parseInt(f, 8) & O_NONBLOCK) !== 0)
    .map(([fd]) => Number(fd));
}

t.test('the wrapper really makes stdio non-blocking (control)', async (t) => {
  const dir = makeBundle(t, 'true').hostDir('m');
  const out = openSync(join(dir, 'out'), 'w');
  onTeardown(t, () => closeSync(out));
  const script = PRINT_FLAGS.replace('/m/flags', join(dir, 'flags'));
  const r = spawnSync(NONBLOCK_WRAPPER[0], [...NONBLOCK_WRAPPER.slice(1), 'sh', '-c', script], { stdio: ['ignore', out, out] });
  t.equal(r.status, 0, readFileSync(join(dir, 'out'), 'utf8'));
  t.same(nonblocking(readFileSync(join(dir, 'flags'), 'utf8')), [0, 1, 2]);
});

t.test("the container's stdio is blocking even when runt's is not", async (t) => {
  const root = stateRoot(t);

  t.test('run in the foreground', async (t) => {
    let m = '';
    const b = makeBundle(t, PRINT_FLAGS, (_s, b) => {
      m = b.share('/m');
    });
    const r = root.run(b, undefined, [], { wrapper: NONBLOCK_WRAPPER });
    t.equal(r.code, 0, describe(r));
    t.same(nonblocking(readFileSync(join(m, 'flags'), 'utf8')), [], 'no fd has O_NONBLOCK');
  });

  t.test('create, then start', async (t) => {
    let m = '';
    const b = makeBundle(t, PRINT_FLAGS, (_s, b) => {
      m = b.share('/m');
    });
    const id = root.id('fdflags');
    const c = root.runt(['create', '--bundle', b.dir, id], {
      wrapper: NONBLOCK_WRAPPER,
      stdoutFile: join(b.dir, 'out'),
      stderrFile: join(b.dir, 'err'),
    });
    t.equal(c.code, 0, describe(c));
    t.equal(root.runt(['start', id]).code, 0);
    t.same(nonblocking(await waitForFile(join(m, 'flags'))), [], 'no fd has O_NONBLOCK');
  });

  t.test('run -d, checked after runt has exited', async (t) => {
    let m = '';
    const b = makeBundle(t, `until [ -e /m/go ]; do sleep 0.05; done; ${PRINT_FLAGS}`, (_s, b) => {
      m = b.share('/m');
    });
    const id = root.id('fdflags');
    const r = root.runt(['run', '-d', '--bundle', b.dir, id], {
      wrapper: NONBLOCK_WRAPPER,
      stdoutFile: join(b.dir, 'out'),
      stderrFile: join(b.dir, 'err'),
    });
    t.equal(r.code, 0, describe(r));
    writeFileSync(join(m, 'go'), '');
    t.same(nonblocking(await waitForFile(join(m, 'flags'))), [], 'no fd has O_NONBLOCK');
    t.equal((await root.waitStopped(id))?.status, 'stopped');
  });
});
