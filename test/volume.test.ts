// Named volumes, host directories, anonymous volumes and tmpfs on run/create (-v, --tmpfs), and the
// `runt volume` commands: copy-up of the rootfs's content into a new volume (modes, owners, times;
// symlinks copied, never followed, and the mount path resolved inside the rootfs), ro, two
// containers sharing a volume, rm refused while one is in use, and bad input.
import t from 'tap';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, errorLines, makeBundle, stateRoot, waitForFile } from './helpers/index.js';

// Every runt this file starts (teardown's delete --force too) uses a store of its own.
const STORE = mkdtempSync('/tmp/runt-test-store-');
process.env.RUNT_STORE = STORE;
t.teardown(() => rmSync(STORE, { recursive: true, force: true }));
const data = (name: string) => join(STORE, 'volumes', name, '_data');

t.test('copy-up: a new named volume gets the rootfs content at its path, nothing outside', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'ls /data; cat /data/a.txt; cat /cfg/hostname', (_s, bundle) => {
    const d = join(bundle.rootfs, 'data');
    mkdirSync(join(d, 'sub'), { recursive: true });
    writeFileSync(join(d, 'a.txt'), 'from the image\n');
    chownSync(join(d, 'a.txt'), 1000, 1001);
    chmodSync(join(d, 'a.txt'), 0o4755);
    chmodSync(join(d, 'sub'), 0o2751);
    symlinkSync('/etc/shadow', join(d, 'abs-link'));
    symlinkSync('../../../../../../etc', join(d, 'sub/escape'));
    // The mount path itself goes through an absolute symlink: resolved inside the rootfs.
    symlinkSync('/etc', join(bundle.rootfs, 'cfg'));
  });
  const r = root.run(b, undefined, ['-v', 'vdata:/data', '-v', 'vcfg:/cfg']);
  t.equal(r.code, 0, describe(r));
  t.match(r.stdout, /from the image/);
  const a = statSync(join(data('vdata'), 'a.txt'));
  t.equal(a.mode & 0o7777, 0o4755, 'mode kept (setuid too)');
  t.same([a.uid, a.gid], [1000, 1001], 'owner kept');
  t.equal(statSync(join(data('vdata'), 'sub')).mode & 0o7777, 0o2751);
  t.ok(lstatSync(join(data('vdata'), 'abs-link')).isSymbolicLink(), 'a symlink is copied as a symlink');
  t.equal(readlinkSync(join(data('vdata'), 'abs-link')), '/etc/shadow');
  t.equal(readlinkSync(join(data('vdata'), 'sub/escape')), '../../../../../../etc');
  t.equal(
    readFileSync(join(data('vcfg'), 'hostname'), 'utf8'),
    readFileSync(join(b.rootfs, 'etc/hostname'), 'utf8'),
    '/cfg → /etc of the rootfs',
  );
  t.notOk(existsSync(join(data('vcfg'), 'shadow')), 'not the host /etc');

  // Once populated, a volume is not copied into again, even when emptied.
  rmSync(join(data('vdata'), 'a.txt'));
  const b2 = makeBundle(t, 'ls /data', (_s, bundle) => {
    mkdirSync(join(bundle.rootfs, 'data'));
    writeFileSync(join(bundle.rootfs, 'data/a.txt'), 'again\n');
  });
  const again = root.run(b2, undefined, ['-v', 'vdata:/data']);
  t.equal(again.code, 0, describe(again));
  t.notMatch(again.stdout, /a\.txt/, 'not copied again');
  t.notOk(existsSync(join(data('vdata'), 'a.txt')));
});

t.test('nocopy, ro, a host directory and --tmpfs', async (t) => {
  const root = stateRoot(t);
  const host = mkdtempSync('/tmp/runt-test-hostdir-');
  t.teardown(() => rmSync(host, { recursive: true, force: true }));
  writeFileSync(join(host, 'h.txt'), 'host file\n');
  const b = makeBundle(
    t,
    [
      'ls -A /etc2 | wc -l',
      'touch /ro/x 2>/dev/null && echo ro-writable || echo ro-refused',
      'cat /host/h.txt',
      'touch /host/new',
      'grep " /scratch " /proc/self/mounts',
    ].join('; '),
  );
  const r = root.run(b, undefined, ['-v', 'empty:/etc2:nocopy', '-v', 'rov:/ro:ro', '-v', `${host}:/host`, '--tmpfs', '/scratch:size=1m']);
  t.equal(r.code, 0, describe(r));
  const lines = r.stdout.trim().split('\n');
  t.equal(lines[0], '0', 'nocopy: the volume stays empty');
  t.equal(lines[1], 'ro-refused');
  t.equal(lines[2], 'host file');
  t.ok(existsSync(join(host, 'new')), 'the host directory is writable through the mount');
  t.match(lines[3], /^tmpfs \/scratch tmpfs rw,nosuid,nodev.*size=1024k/);
});

t.test('two containers share a volume; rm is refused while one uses it', async (t) => {
  const root = stateRoot(t);
  const writer = makeBundle(t, 'echo shared > /v/file; sleep 60');
  const id = root.id('vol-writer');
  const c = root.runt(['run', '-d', '-b', writer.dir, '-v', 'shared:/v', id], {
    stdoutFile: join(writer.dir, 'out'),
    stderrFile: join(writer.dir, 'err'),
  });
  t.equal(c.code, 0, describe(c));
  await waitForFile(join(data('shared'), 'file'));
  const reader = makeBundle(t, 'cat /v/file');
  const r = root.run(reader, undefined, ['-v', 'shared:/v:ro']);
  t.equal(r.stdout, 'shared\n', describe(r));

  const inspect = JSON.parse(root.runt(['volume', 'inspect', 'shared']).stdout) as Array<{ containers: string[] }>;
  t.same(inspect[0].containers, [id], 'inspect names the container using it');
  const rm = root.runt(['volume', 'rm', 'shared']);
  t.not(rm.code, 0);
  t.same(errorLines(rm).length, 1, 'one line');
  t.match(rm.stderr, new RegExp(`volume "shared" is in use by container "${id}"`));
  t.ok(existsSync(data('shared')), 'still there');

  t.equal(root.runt(['delete', '--force', id]).code, 0);
  const rm2 = root.runt(['volume', 'rm', 'shared']);
  t.equal(rm2.code, 0, describe(rm2));
  t.notOk(existsSync(join(STORE, 'volumes', 'shared')));
});

t.test('volume create, ls, inspect, prune; an anonymous volume goes with its container', async (t) => {
  const root = stateRoot(t);
  t.equal(root.runt(['volume', 'create', 'labelled', '--label', 'tier=db', '--label', 'x=y=z']).code, 0);
  const info = JSON.parse(root.runt(['volume', 'inspect', 'labelled']).stdout) as Array<{
    labels: Record<string, string>;
    mountpoint: string;
  }>;
  t.same(info[0].labels, { tier: 'db', x: 'y=z' });
  t.equal(info[0].mountpoint, data('labelled'));
  t.match(root.runt(['volume', 'ls']).stdout, /labelled/);
  const dup = root.runt(['volume', 'create', 'labelled']);
  t.not(dup.code, 0);
  t.match(dup.stderr, /volume "labelled" already exists/);

  const b = makeBundle(t, 'echo x > /anon/f; sleep 60');
  const id = root.id('vol-anon');
  t.equal(root.runt(['create', '-b', b.dir, '-v', '/anon', id], { stdoutFile: join(b.dir, 'o'), stderrFile: join(b.dir, 'e') }).code, 0);
  const anon = (JSON.parse(root.runt(['volume', 'ls', '--format', 'json']).stdout) as Array<{ name: string; anonymous: boolean }>).filter(
    (v) => v.anonymous,
  );
  t.equal(anon.length, 1, 'one anonymous volume while the container exists');
  t.equal(root.runt(['delete', '--force', id]).code, 0);
  t.notOk(existsSync(join(STORE, 'volumes', anon[0].name)), 'removed with the container');

  const pruned = root.runt(['volume', 'prune']);
  t.equal(pruned.code, 0);
  t.match(pruned.stdout, /labelled/);
  t.same(JSON.parse(root.runt(['volume', 'ls', '--format', 'json']).stdout), []);
});

t.test('bad input: one line, non-zero, nothing left', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true');
  for (const [args, pattern] of [
    [['volume', 'inspect', 'nosuch'], /volume "nosuch" does not exist/],
    [['volume', 'rm', 'nosuch'], /volume "nosuch" does not exist/],
    [['run', '-b', b.dir, '-v', '/no/such/dir:/x', 'bad1'], /host path "\/no\/such\/dir" does not exist/],
    [['run', '-b', b.dir, '-v', 'bad name:/x', 'bad2'], /invalid volume name "bad name"/],
    [['run', '-b', b.dir, '-v', 'v:relative', 'bad3'], /must be absolute/],
    [['run', '-b', b.dir, '-v', 'v:/x:rw,bogus', 'bad4'], /unknown option "bogus"/],
  ] as const) {
    const r = root.runt([...args]);
    t.not(r.code, 0, args.join(' '));
    t.equal(errorLines(r).length, 1, `${args.join(' ')}: one line: ${r.stderr}`);
    t.match(r.stderr, pattern);
  }
  t.same(root.entries(), [], 'no state left');
  t.notOk(existsSync(join(STORE, 'volumes', 'v')), 'no volume made for a refused run');
});

t.test('-v after the command is --volume, not --version', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'ls /vv >/dev/null && echo mounted');
  const r = root.run(b, undefined, ['-v', 'vv:/vv']);
  t.equal(r.stdout, 'mounted\n', describe(r));
  t.notMatch(r.stdout, /runt version/);
  t.match(root.runt(['-v']).stdout, /^runt version/, '-v before the command is still --version');
});
