// `runt run`: output, exit status, cleanup afterwards, --keep and --detach.
import t from 'tap';
import { cmdline, describe, errorLines, isGone, leftovers, makeBundle, stateRoot, waitFor } from './helpers/index.js';

t.test('run prints the output of the container and exits 0', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'echo hi');
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, 'hi\n');
  t.same(errorLines(r), [], 'nothing on stderr');
  t.same(root.entries(), [], 'the container is deleted after run');
  t.same(leftovers(root.path, r.id, b.dir), [], 'no cgroup, mount or process left');
});

t.test('the exit code of the process passes through', async (t) => {
  const root = stateRoot(t);
  for (const code of [3, 1, 255]) {
    const r = root.run(makeBundle(t, `exit ${code}`));
    t.equal(r.code, code, `exit ${code}: ${describe(r)}`);
  }
  t.same(root.entries(), []);
});

t.test('a process killed by a signal gives 128+N', async (t) => {
  const root = stateRoot(t);

  t.test('the process signals itself (no PID namespace, so it is not a protected init)', async (t) => {
    const b = makeBundle(t, 'kill -TERM $$; sleep 5', (s) => {
      s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'pid');
    });
    const r = root.run(b);
    t.equal(r.code, 128 + 15, describe(r));
    t.same(root.entries(), []);
  });

  t.test('runt kill KILL while run waits in the foreground', async (t) => {
    const b = makeBundle(t, ['sleep', '1000']);
    const id = root.id('sig');
    const p = root.runtAsync(['run', '--bundle', b.dir, id]);
    await waitFor(`${id} running`, () => root.state(id)?.status === 'running', 10_000, 100);
    const k = root.runt(['kill', id, 'KILL']);
    t.equal(k.code, 0, describe(k));
    const r = await p.done;
    t.equal(r.code, 128 + 9, describe(r));
    t.same(root.entries(), [], 'deleted after the run ended');
    t.same(leftovers(root.path, id, b.dir), []);
  });
});

t.test('run --keep leaves the container behind as stopped', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'exit 0');
  const r = root.run(b, undefined, ['--keep']);
  t.equal(r.code, 0, describe(r));
  t.same(root.entries(), [r.id]);
  const st = root.state(r.id);
  t.equal(st?.status, 'stopped');
  t.equal(st?.id, r.id);
  const d = root.runt(['delete', r.id]);
  t.equal(d.code, 0, describe(d));
  t.same(root.entries(), []);
  t.same(leftovers(root.path, r.id, b.dir), []);
});

t.test('run -d returns while the container runs', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const id = root.id('detach');
  const r = root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: `${b.dir}/out`, stderrFile: `${b.dir}/err` });
  t.equal(r.code, 0, describe(r));
  const st = root.state(id);
  t.equal(st?.status, 'running');
  t.ok(st && st.pid > 0 && !isGone(st.pid), 'the init is alive');
  t.same(st ? cmdline(st.pid) : [], ['sleep', '1000'], 'and runs the configured process');
  t.equal(root.runt(['kill', id, 'KILL']).code, 0);
  t.equal((await root.waitStopped(id))?.status, 'stopped');
  t.equal(root.runt(['delete', id]).code, 0);
  t.same(leftovers(root.path, id, b.dir), []);
});
