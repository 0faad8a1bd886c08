// The library API (src/index.ts) driven in-process: lifecycle, exit status from the pidfd, stdio
// pipes as streams, events, typed errors, and per-container serialisation inside one process.
import t from 'tap';
import type { Readable } from 'node:stream';
import { Runtime, RuntError, SpecError, type RuntEvent } from '../src/index.js';

t.ok(new SpecError('mounts[0]', 'x') instanceof RuntError, 'SpecError is a RuntError');
import { isGone, leftovers, makeBundle, stateRoot } from './helpers/index.js';
import { procState } from './helpers/proc.js';

function collect(stream: Readable | null): Promise<string> {
  if (!stream) return Promise.resolve('');
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    text += d;
  });
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve(text));
    stream.on('error', reject);
  });
}

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    // RuntError and its subclasses (the spec layer's SpecError among them): each with a stable `code`.
    t.ok(e instanceof RuntError, `${(e as Error).message}: a runt error`);
    return (e as RuntError).code;
  }
  return undefined;
}

t.test('create, start, wait, delete: the minimum from the issue', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'exit 7');
  const rt = new Runtime({ root: root.path });
  const id = root.id('min');
  const c = await rt.create(id, b.dir, { stdio: 'ignore' });
  t.equal(c.state().status, 'created');
  t.ok(c.pid > 0);
  await c.start();
  t.same(await c.wait(), { code: 7, signal: null });
  t.equal(rt.state(id).status, 'stopped');
  await c.delete();
  t.same(leftovers(root.path, id, b.dir), []);
  t.ok(isGone(c.pid), 'the init is reaped, not a zombie');
});

t.test('a spec object instead of a bundle directory; signal exit', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t);
  const spec = structuredClone(b.spec);
  spec.root!.path = b.rootfs;
  spec.process!.args = ['sleep', '100'];
  const rt = new Runtime({ root: root.path });
  const id = root.id('spec');
  const c = await rt.create(id, spec, { stdio: 'ignore' });
  await c.start();
  t.equal(c.state().status, 'running');
  c.kill('KILL');
  t.same(await c.wait(), { code: null, signal: 'SIGKILL' });
  await rt.delete(id);
  t.same(
    rt.list().filter((x) => x.id === id),
    [],
  );
});

t.test('stdio pipes: stdin, stdout and stderr as streams', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'read line; echo "out:$line"; echo "err:$line" >&2');
  const rt = new Runtime({ root: root.path });
  const id = root.id('pipe');
  const c = await rt.create(id, b.dir, { stdio: 'pipe' });
  t.ok(c.stdin && c.stdout && c.stderr);
  const out = collect(c.stdout);
  const err = collect(c.stderr);
  await c.start();
  c.stdin!.end('hello\n');
  t.same(await c.wait(), { code: 0, signal: null });
  t.equal(await out, 'out:hello\n');
  t.equal(await err, 'err:hello\n');
  await c.delete();
});

t.test('stdio per fd: a caller fd, a pipe, /dev/null', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'echo to-out; echo to-err >&2');
  const rt = new Runtime({ root: root.path });
  const c = await rt.create(root.id('mixed'), b.dir, { stdio: ['ignore', 'ignore', 'pipe'] });
  t.equal(c.stdout, null);
  const err = collect(c.stderr);
  await c.start();
  await c.wait();
  t.equal(await err, 'to-err\n');
  await c.delete();
});

t.test('events: the last one is exit with the status', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'sleep 0.3; exit 2');
  const rt = new Runtime({ root: root.path });
  const c = await rt.create(root.id('ev'), b.dir, { stdio: 'ignore' });
  const seen: RuntEvent[] = [];
  const done = (async () => {
    for await (const e of c.events({ intervalMs: 100 })) seen.push(e);
  })();
  await c.start();
  await done;
  const last = seen[seen.length - 1];
  t.same(last, { type: 'exit', id: c.id, code: 2, signal: null });
  t.ok(
    seen.some((e) => e.type === 'stats'),
    'stats events came while it ran',
  );
  await c.delete();
});

t.test('typed errors with stable codes', async (t) => {
  const root = stateRoot(t);
  const rt = new Runtime({ root: root.path });
  t.equal(await codeOf(() => rt.state('nope')), 'ENOTFOUND_CONTAINER');
  t.equal(await codeOf(rt.delete('nope')), 'ENOTFOUND_CONTAINER');
  const ok = makeBundle(t, ['sleep', '100']);
  t.equal(await codeOf(rt.create('bad/id', ok.dir)), 'EINVALID_ARGUMENT');

  const b = makeBundle(t, 'true', (s) => {
    (s.process as { args: unknown }).args = 'not-an-array';
  });
  t.equal(await codeOf(rt.create(root.id('inv'), b.dir)), 'EINVALID_SPEC');

  const id = root.id('dup');
  const c = await rt.create(id, ok.dir, { stdio: 'ignore' });
  t.equal(await codeOf(rt.create(id, ok.dir)), 'EEXIST_CONTAINER');
  await c.start();
  t.equal(await codeOf(rt.delete(id)), 'EINVALID_STATE', 'a running container is not deleted without force');
  t.equal(await codeOf(() => new Runtime({ cgroupManager: 'sytemd' as 'systemd' })), 'EINVALID_ARGUMENT', 'an unknown cgroup manager');
  await rt.delete(id, { force: true });
  t.same(await c.wait(), { code: null, signal: 'SIGKILL' });
});

t.test('operations on one container from one process queue instead of deadlocking on its lock', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '100']);
  const rt = new Runtime({ root: root.path });
  const id = root.id('q');
  const created = rt.create(id, b.dir, { stdio: 'ignore' });
  // A synchronous operation while create holds the lock is refused, not blocked.
  t.equal(await codeOf(() => rt.kill(id, 'KILL')), 'EBUSY');
  const deleted = rt.delete(id, { force: true });
  await created;
  await deleted;
  t.same(
    rt.list().filter((x) => x.id === id),
    [],
  );
});

t.test('container(id): a handle on a container created elsewhere', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '100']);
  const id = root.id('other');
  const r = root.create(b, id);
  t.equal(r.code, 0, r.stderr);
  const rt = new Runtime({ root: root.path });
  const c = rt.container(id);
  t.equal(c.state().status, 'created');
  await c.start();
  c.kill('KILL');
  t.same(await c.wait(), { code: null, signal: null }, 'not our child: only that it ended');
  await c.delete();
});

t.test('exec into a running container with its output on a pipe', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '100']);
  const rt = new Runtime({ root: root.path });
  const c = await rt.create(root.id('exec'), b.dir, { stdio: 'ignore' });
  await c.start();
  const p = await c.exec(
    { cwd: '/', user: { uid: 0, gid: 0 }, args: ['sh', '-c', 'echo "in:$(hostname)"; exit 4'] },
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const out = collect(p.stdout);
  t.same(await p.wait(), { code: 4, signal: null });
  t.match(await out, /^in:\S+\n$/);
  await rt.delete(c.id, { force: true });
});

t.test('events: an OOM kill in the container is reported while it runs', async (t) => {
  const root = stateRoot(t);
  // sort keeps all its input: the kernel kills it, the container's shell carries on.
  const b = makeBundle(t, 'head -c 50000000 /dev/zero | sort >/dev/null; sleep 0.5', (s) => {
    s.linux!.resources = { ...s.linux!.resources, memory: { limit: 8 * 1024 * 1024 } };
  });
  const rt = new Runtime({ root: root.path });
  const c = await rt.create(root.id('oom'), b.dir, { stdio: 'ignore' });
  const seen: RuntEvent[] = [];
  const done = (async () => {
    for await (const e of c.events()) seen.push(e);
  })();
  await c.start();
  await done;
  t.ok(
    seen.some((e) => e.type === 'oom'),
    `an oom event: ${JSON.stringify(seen)}`,
  );
  t.same(seen[seen.length - 1], { type: 'exit', id: c.id, code: 0, signal: null }, 'the init survived');
  await c.delete();
});

t.test("exec'd processes the caller never waited for do not keep the init from exiting, nor delete from finishing", async (t) => {
  // An init that is PID 1 of its namespace finishes exiting only once every process of the
  // namespace has been reaped, and the runtime is the parent of the exec'd ones.
  const root = stateRoot(t);
  const rt = new Runtime({ root: root.path });
  const within = <T>(p: Promise<T>, what: string) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not finish in 20 s`)), 20_000).unref()),
    ]);
  const sleeper = { cwd: '/', user: { uid: 0, gid: 0 }, args: ['sleep', '300'] };

  const a = await rt.create(root.id('reap-a'), makeBundle(t, ['sleep', '300']).dir, { stdio: 'ignore' });
  await a.start();
  const execs = [await rt.exec(a.id, sleeper, { stdio: 'ignore' }), await rt.exec(a.id, sleeper, { stdio: 'ignore' })];
  a.kill('KILL');
  t.same(await within(a.wait(), 'wait()'), { code: null, signal: 'SIGKILL' }, "the init's exit is seen");
  t.same(
    await Promise.all(execs.map((e) => e.wait())),
    [
      { code: null, signal: 'SIGKILL' },
      { code: null, signal: 'SIGKILL' },
    ],
    "the exec'd processes were killed with it, and reaped",
  );
  await rt.delete(a.id);
  for (const e of execs) t.equal(procState(e.pid), null, `exec'd process ${e.pid} is reaped, not a zombie`);

  const b = await rt.create(root.id('reap-b'), makeBundle(t, ['sleep', '300']).dir, { stdio: 'ignore' });
  await b.start();
  const more = [await rt.exec(b.id, sleeper, { stdio: 'ignore' }), await rt.exec(b.id, sleeper, { stdio: 'ignore' })];
  await within(rt.delete(b.id, { force: true }), 'delete --force');
  t.ok(isGone(b.pid), 'the init is gone');
  for (const e of more) t.equal(procState(e.pid), null, `exec'd process ${e.pid} is reaped, not a zombie`);
});
