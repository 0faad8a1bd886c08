// runc 1.5's command line, beyond what engines used before: --pidfd-socket on create, run and exec,
// exec --cgroup, run --no-subreaper, update --cpu-burst/--cpu-idle and the Intel RDT flags, kill
// --all. Each through the fast path and through yargs (a --help-free call that the fast path
// declines: an option given twice goes to yargs).
import t from 'tap';
import { closeSync, existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConsoleSocket } from '../src/terminal/console-socket.js';
import { describe, errorLines, isGone, makeBundle, stateRoot, waitFor } from './helpers/index.js';

t.setTimeout(180_000);

/** The pid a pidfd refers to, from /proc/self/fdinfo. */
function pidOfPidfd(fd: number): number {
  const m = /^Pid:\s+(-?\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
  return m ? Number(m[1]) : -1;
}

/** The fd a receiver got, or a failure after 20 s instead of waiting for ever. */
function within<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('nothing arrived on the socket within 20 s')), 20_000);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

t.test('--pidfd-socket: create, run -d and exec send a pidfd of the process', async (t) => {
  const root = stateRoot(t);
  // A repeated flag makes the fast path hand the command to yargs.
  const cases = [
    { how: 'fast path', create: [] as string[], exec: [] as string[] },
    { how: 'yargs', create: ['--no-new-keyring', '--no-new-keyring'], exec: ['--ignore-paused', '--ignore-paused'] },
  ];
  for (const { how, create, exec } of cases) {
    const b = makeBundle(t, ['sleep', '1000']);
    const sock = new ConsoleSocket(join(b.dir, 'pidfd.sock'));
    t.teardown(() => sock.close());
    let received = sock.receive();
    const c = root.create(b, undefined, ['--pidfd-socket', sock.path, ...create]);
    t.equal(c.code, 0, `create (${how}): ${describe(c)}`);
    let { fd } = await within(received);
    const initPid = root.state(c.id)?.pid;
    t.equal(pidOfPidfd(fd), initPid, `create (${how}): the pidfd is the init's`);
    closeSync(fd);

    received = sock.receive();
    const e = root.runt(['exec', '-d', '--pidfd-socket', sock.path, ...exec, c.id, 'sleep', '999']);
    t.equal(e.code, 0, `exec (${how}): ${describe(e)}`);
    ({ fd } = await within(received));
    const execPid = pidOfPidfd(fd);
    closeSync(fd);
    t.ok(execPid > 0 && execPid !== initPid, `exec (${how}): a pidfd of the new process`);
    t.match(readFileSync(`/proc/${execPid}/cmdline`, 'utf8'), /^sleep\x00999/, 'which runs the command');
    t.equal(root.runt(['delete', '--force', c.id]).code, 0);
  }
  const b = makeBundle(t, ['sleep', '1000']);
  const sock = new ConsoleSocket(join(b.dir, 'pidfd.sock'));
  t.teardown(() => sock.close());
  const received = sock.receive();
  const id = root.id('pidfd-run');
  const r = root.runt(['run', '-d', '--pidfd-socket', sock.path, '--bundle', b.dir, id], {
    stdoutFile: join(b.dir, 'o'),
    stderrFile: join(b.dir, 'e'),
  });
  t.equal(r.code, 0, `run -d: ${describe(r)}`);
  const { fd } = await within(received);
  t.equal(pidOfPidfd(fd), root.state(id)?.pid, "run -d: the pidfd is the init's");
  closeSync(fd);
  t.equal(root.runt(['delete', '--force', id]).code, 0);
});

t.test('--pidfd-socket that nobody listens on fails create with one line and leaves nothing', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const c = root.create(b, undefined, ['--pidfd-socket', join(b.dir, 'nobody.sock')]);
  t.not(c.code, 0, 'create fails');
  t.equal(errorLines(c).length, 1, `one line: ${JSON.stringify(c.stderr)}`);
  t.match(c.stderr, '--pidfd-socket');
  t.same(root.entries(), [], 'no state left');
});

t.test("exec --cgroup: the process joins a sub-cgroup of the container's; a missing one is refused", async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const id = root.id('cg');
  const r = root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'o'), stderrFile: join(b.dir, 'e') });
  t.equal(r.code, 0, describe(r));
  const pid = root.state(id)!.pid;
  // The container's own cgroup in the memory hierarchy (or the v2 one), from the init's /proc.
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => /:memory:|^0::/.test(l));
  const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line ?? '') ?? [];
  const mount = controllers ? `/sys/fs/cgroup/${controllers}` : '/sys/fs/cgroup';
  if (!path || !existsSync(join(mount, path))) {
    t.skip(`no memory (or v2) cgroup directory for the container here (${line ?? 'none'})`, () => {});
    root.runt(['delete', '--force', id]);
    return;
  }
  const sub = join(mount, path, 'sub');
  mkdirSync(sub);
  t.teardown(() => {
    try {
      rmdirSync(sub);
    } catch {
      /* removed with the container */
    }
  });
  const which = controllers ? `${controllers}:sub` : 'sub';
  const e = root.runt(['exec', '--cgroup', which, id, 'cat', '/proc/self/cgroup']);
  t.equal(e.code, 0, describe(e));
  t.match(e.stdout, new RegExp(`:${controllers || ''}:${path}/sub$`, 'm'), `the process is in ${which}`);
  const missing = root.runt(['exec', '--cgroup', 'nosuch', id, 'true']);
  t.not(missing.code, 0, 'a missing sub-cgroup fails');
  t.match(missing.stderr, /--cgroup nosuch: .* does not exist/);
  const outside = root.runt(['exec', '--cgroup', '../..', id, 'true']);
  t.not(outside.code, 0, "a path leaving the container's cgroup is refused");
  t.equal(root.runt(['kill', id, 'KILL']).code, 0);
  await root.waitStopped(id);
  t.equal(root.runt(['delete', id]).code, 0);
});

t.test('run is the subreaper of what the container leaves behind, unless --no-subreaper', async (t) => {
  const root = stateRoot(t);
  // Without a PID namespace the orphan of a double fork goes to the nearest subreaper.
  const script = 'p=$(sh -c "sleep 30 >/dev/null 2>&1 & echo \\$!"); sleep 0.3; grep PPid /proc/$p/status; kill $p';
  for (const [extra, expectRunt] of [
    [[], true],
    [['--no-subreaper'], false],
  ] as const) {
    const b = makeBundle(t, script, (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'pid');
    });
    const p = root.runtAsync(['run', ...extra, '--bundle', b.dir, root.id('reaper')]);
    const r = await p.done;
    t.equal(r.code, 0, describe(r));
    const ppid = Number(/PPid:\s+(\d+)/.exec(r.stdout)?.[1]);
    if (expectRunt) t.equal(ppid, p.pid, 'the orphan was reparented to runt run');
    else t.not(ppid, p.pid, `--no-subreaper: the orphan went elsewhere (ppid ${ppid})`);
  }
});

t.test('update --cpu-burst and --cpu-idle reach the cgroup; the Intel RDT flags are refused by name', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const id = root.id('upd');
  const r = root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'o'), stderrFile: join(b.dir, 'e') });
  t.equal(r.code, 0, describe(r));
  const pid = root.state(id)!.pid;
  const cpuLine =
    readFileSync(`/proc/${pid}/cgroup`, 'utf8')
      .split('\n')
      .find((l) => /:cpu[,:]|^0::/.test(l)) ?? '';
  const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(cpuLine) ?? [];
  const dir = controllers ? join('/sys/fs/cgroup', controllers, path ?? '') : join('/sys/fs/cgroup', path ?? '');
  const burstFile = controllers ? 'cpu.cfs_burst_us' : 'cpu.max.burst';
  if (existsSync(join(dir, burstFile))) {
    const u = root.runt(['update', '--cpu-quota', '50000', '--cpu-period', '100000', '--cpu-burst', '20000', id]);
    t.equal(u.code, 0, describe(u));
    t.equal(readFileSync(join(dir, burstFile), 'utf8').trim(), '20000', `${burstFile} is 20000`);
  } else {
    t.comment(`no ${burstFile} in ${dir}: --cpu-burst not checked on this kernel`);
  }
  if (existsSync(join(dir, 'cpu.idle'))) {
    const u = root.runt(['update', '--cpu-idle', '1', id]);
    t.equal(u.code, 0, describe(u));
    t.equal(readFileSync(join(dir, 'cpu.idle'), 'utf8').trim(), '1', 'cpu.idle is 1');
  } else {
    t.comment(`no cpu.idle in ${dir}: --cpu-idle not checked on this kernel`);
  }
  for (const flag of ['--l3-cache-schema', '--mem-bw-schema']) {
    const u = root.runt(['update', flag, 'L3:0=f', id]);
    t.not(u.code, 0, `${flag} is refused`);
    t.equal(errorLines(u).length, 1, `one line: ${JSON.stringify(u.stderr)}`);
    t.match(u.stderr, flag.slice(2));
  }
  t.equal(root.runt(['delete', '--force', id]).code, 0);
});

t.test('kill --all KILL ends every process of the container', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'sleep 1000 & sleep 1000 & wait');
  const id = root.id('killall');
  const r = root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'o'), stderrFile: join(b.dir, 'e') });
  t.equal(r.code, 0, describe(r));
  const pid = root.state(id)!.pid;
  const children = await waitFor('two sleeps', () => {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return kids.length === 2 ? kids : undefined;
  });
  const k = root.runt(['kill', '--all', id, 'KILL']);
  t.equal(k.code, 0, describe(k));
  for (const p of [pid, ...children]) t.ok(await waitFor(`pid ${p} gone`, () => isGone(p)), `pid ${p} is gone`);
  t.equal(root.runt(['delete', id]).code, 0);
});
