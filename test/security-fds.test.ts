// Leaked file descriptors and working directory (the class of CVE-2024-21626): nothing runt has
// open reaches the container, and a process.cwd through /proc/self/fd/N cannot leave the root.
// runt itself is handed a directory fd of the host in every test, the way a careless caller (or
// runt's own cgroup handling) could hold one.
import t from 'tap';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, errorLines, makeBundle, onTeardown, stateRoot, waitForFile } from './helpers/index.js';
import { MARKER, hostDirFd, lines } from './security-helpers.js';

const O_CLOEXEC = 0o2000000;
/** "/proc/N/fd/1" lines become "1", sorted; the cwd line stays last. */
const fdsAndCwd = (text: string) => {
  const all = lines(text);
  const fds = all
    .filter((l) => l.includes('/fd/'))
    .map((l) => l.slice(l.lastIndexOf('/') + 1))
    .sort((x, y) => Number(x) - Number(y));
  return [...fds, ...all.filter((l) => !l.includes('/fd/'))];
};

const sameFile = (a: string, b: string) => {
  const sa = statSync(a);
  const sb = statSync(b);
  return sa.dev === sb.dev && sa.ino === sb.ino;
};

t.test('a parked init holds stdio and close-on-exec internals only, nothing of the host', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true', (s) => {
    s.process!.cwd = '/tmp';
  });
  const host = hostDirFd(t, b);
  const cgroupFd = openSync('/sys/fs/cgroup', 'r');
  onTeardown(t, () => closeSync(cgroupFd));
  const id = root.id('parked');
  const c = root.runt(['create', '--bundle', b.dir, id], {
    extraFds: [host.fd, cgroupFd],
    stdoutFile: join(b.dir, 'out'),
    stderrFile: join(b.dir, 'err'),
  });
  t.equal(c.code, 0, describe(c));
  const pid = root.state(id)!.pid;

  const fds = readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .sort((x, y) => x - y);
  t.same(fds.slice(0, 3), [0, 1, 2], 'stdio');
  for (const fd of fds.filter((n) => n >= 3)) {
    const path = `/proc/${pid}/fd/${fd}`;
    const link = readlinkSync(path);
    const flags = parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1], 8);
    t.ok(flags & O_CLOEXEC, `fd ${fd} (${link}) is close-on-exec`);
    t.notOk(sameFile(path, host.dir), `fd ${fd} is not the host directory runt was given`);
    t.notOk(sameFile(path, '/sys/fs/cgroup'), `fd ${fd} is not the host's /sys/fs/cgroup`);
    if (statSync(path).isDirectory()) t.ok(sameFile(path, b.rootfs), `the only directory fd (${fd}) is the container's root`);
  }
  t.ok(sameFile(`/proc/${pid}/root`, b.rootfs), 'root is the rootfs');
  t.ok(sameFile(`/proc/${pid}/cwd`, join(b.rootfs, 'tmp')), 'cwd is process.cwd inside the rootfs');
});

t.test("the container process (and an exec'd one) sees only stdio", async (t) => {
  const root = stateRoot(t);
  // find, a separate process, lists the shell's fds (a pipeline would add the shell's pipe ends).
  const listing = 'find /proc/$$/fd/ -mindepth 1 -maxdepth 1; readlink /proc/$$/cwd';
  const b = makeBundle(t, `${listing}; sleep 30`);
  const host = hostDirFd(t, b);
  const id = root.id('fds');
  const c = root.runt(['create', '--bundle', b.dir, id], {
    extraFds: [host.fd],
    stdoutFile: join(b.dir, 'out'),
    stderrFile: join(b.dir, 'err'),
  });
  t.equal(c.code, 0, describe(c));
  t.equal(root.runt(['start', id]).code, 0);

  const e = root.runt(['exec', id, 'sh', '-c', listing], { extraFds: [host.fd] });
  t.equal(e.code, 0, describe(e));
  t.same(fdsAndCwd(e.stdout), ['0', '1', '2', '/'], 'exec: fds 0-2, cwd /');

  const out = await waitForFile(join(b.dir, 'out'), (text) => text.includes('/\n'));
  t.same(fdsAndCwd(out), ['0', '1', '2', '/'], 'init: fds 0-2, cwd /');
});

t.test('the attack needs a leaked directory fd: with one passed on purpose, it is a way out (control)', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'ls /proc/self/fd/3/');
  const host = hostDirFd(t, b);
  const r = root.run(b, undefined, ['--preserve-fds', '1'], { extraFds: [host.fd] });
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, `${MARKER}\n`, 'through fd 3 the container lists the host directory');
});

t.test('a preserved host directory as process.cwd is refused', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'ls', (s) => {
    s.process!.cwd = '/proc/self/fd/3';
  });
  const host = hostDirFd(t, b);
  const r = root.run(b, undefined, ['--preserve-fds', '1'], { extraFds: [host.fd] });
  t.not(r.code, 0, 'refused');
  // Two guards stop it: creating a missing cwd resolves it in root without magic links (ELOOP), and
  // after chdir the init checks that the cwd is under its root (exec meets that one: security-cwd).
  const errs = errorLines(r);
  t.equal(errs.length, 1, JSON.stringify(r.stderr));
  t.match(errs[0] ?? '', /^process\.cwd: .*\/proc\/self\/fd\/3.*(ELOOP|outside the container's root)/);
  t.notMatch(r.stdout, MARKER);
});
