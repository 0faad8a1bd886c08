// Crash safety: a runt killed in the middle of `create` leaves a half-made container. Its creator
// gone, it is `stopped` (no longer `creating`: nothing will finish it), and `delete` (no --force
// needed, as for any stopped container) removes it completely.
import t from 'tap';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cgroupDirsNamed,
  describe,
  isGone,
  leftovers,
  makeBundle,
  onTeardown,
  processesMentioning,
  procStatus,
  stateRoot,
  waitFor,
  waitForFile,
} from './helpers/index.js';

for (const kind of ['createRuntime', 'createContainer'] as const) {
  t.test(`runt SIGKILLed while a ${kind} hook runs: the container is stopped, delete cleans up`, async (t) => {
    const root = stateRoot(t);
    let dir = '';
    const marker = `999.${process.pid}${kind.length}`;
    const b = makeBundle(t, 'true', (s, b) => {
      dir = b.hostDir('hook');
      const script = join(b.dir, 'hang.sh');
      // Saves the state it was given, then hangs.
      writeFileSync(script, `#!/bin/sh\ncat > ${dir}/state.tmp\nmv ${dir}/state.tmp ${dir}/state\nexec sleep ${marker}\n`);
      chmodSync(script, 0o755);
      s.hooks = { [kind]: [{ path: script, args: [script], env: ['PATH=/usr/bin:/bin'] }] };
    });
    const id = root.id('crash');
    const p = root.runtAsync(['create', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'out'), stderrFile: join(b.dir, 'err') });
    // Whatever happens below, the hanging hook (our own child's child) must not outlive the test.
    onTeardown(t, () => {
      for (const pid of processesMentioning(marker)) process.kill(pid, 'SIGKILL');
    });

    const hookState = JSON.parse(await waitForFile(join(dir, 'state'))) as { id: string; pid: number };
    t.equal(hookState.id, id);
    const [hookPid] = await waitFor('the hook to hang', () => {
      const found = processesMentioning(marker);
      return found.length ? found : undefined;
    });
    // A createRuntime hook is told the init's host pid; a createContainer hook is the init's child.
    const initPid = kind === 'createRuntime' ? hookState.pid : Number(procStatus(hookPid).PPid);
    t.ok(initPid > 0, 'the half-made init exists');
    t.ok(cgroupDirsNamed(id).length > 0, 'its cgroups exist');
    t.match(root.state(id), { status: 'creating', pid: 0 }, 'while runt works, the container is creating');

    process.kill(p.pid, 'SIGKILL');
    const r = await p.done;
    t.equal(r.signal, 'SIGKILL', 'runt was killed');
    for (const pid of processesMentioning(marker)) process.kill(pid, 'SIGKILL');

    t.same(root.entries(), [id], 'the state directory is still there');
    const listed = root.runt(['list', '--format', 'json']);
    t.equal(listed.code, 0, `list still works: ${describe(listed)}`);
    t.match(JSON.parse(listed.stdout), [{ id, status: 'stopped', pid: 0 }], 'and shows the container, stopped: its creator is gone');
    t.match(root.state(id), { status: 'stopped', pid: 0 }, 'state says stopped');
    const k = root.runt(['kill', id, 'KILL']);
    t.not(k.code, 0, 'kill refuses a stopped container');

    const d = root.runt(['delete', id]);
    t.equal(d.code, 0, describe(d));
    t.same(root.entries(), [], 'state directory removed');
    t.same(cgroupDirsNamed(id), [], 'cgroups removed');
    await waitFor('the init to be gone', () => isGone(initPid), 5000).catch(() => {});
    t.ok(isGone(initPid), 'the half-made init is gone');
    t.same(leftovers(root.path, id, b.dir), []);
  });
}

t.test('runt SIGKILLed after create parked the init; delete --force cleans up', async (t) => {
  // Not a crash in the middle, but the engine's usual path: create, the caller dies, delete --force.
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  const pid = root.state(c.id)?.pid ?? 0;
  const d = root.runt(['delete', '--force', c.id]);
  t.equal(d.code, 0, describe(d));
  t.ok(isGone(pid));
  t.same(leftovers(root.path, c.id, b.dir), []);
});
