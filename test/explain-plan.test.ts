// `runt explain` prints exactly the steps `run --trace` then reports, in the same order, for configs
// that use every field runt supports; the trace is complete (through the exec) and all steps succeed.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import type { Spec } from '../src/spec/types.js';
import { describe, makeBundle, onTeardown, stateRoot } from './helpers/index.js';
import { everyFieldBundle, explainJson, runTraced, type PlanStep, type TraceRecord } from './explain-fixtures.js';

function compare(t: Test, plan: PlanStep[], trace: TraceRecord[]): void {
  t.same(
    trace.map((e) => [e.index, e.op, e.field]),
    plan.map((s) => [s.index, s.op, s.field]),
    'every planned step is reported, in order, by op and field',
  );
  t.same(
    trace.filter((e) => e.result !== 'ok'),
    [],
    'every step succeeded',
  );
  t.ok(
    trace.every((e) => Number.isInteger(e.usec) && e.usec >= 0),
    'each step has its own time in microseconds',
  );
  t.equal(trace.at(-1)?.op, 'exec', 'the last step reported is the exec');
}

t.test('a config using every field: explain == trace', async (t) => {
  const root = stateRoot(t);
  const id = root.id('explain');
  const b = everyFieldBundle(t);
  const plan = explainJson(root, b, id).steps;
  const ops = new Set(plan.map((s) => s.op));
  for (const op of [
    'sync',
    'unshare',
    'mount',
    'openRoot',
    'pivotRoot',
    'mask',
    'mknod',
    'symlink',
    'writeProc',
    'sethostname',
    'setdomainname',
    'setsid',
    'setrlimit',
    'capBounding',
    'capset',
    'ambient',
    'setgroups',
    'setresgid',
    'setresuid',
    'umask',
    'chdir',
    'prctl',
    'hook',
    'resolveExec',
    'park',
    'seccomp',
    'exec',
  ]) {
    t.ok(ops.has(op), `the plan uses ${op}`);
  }
  t.same(
    [...new Set(plan.map((s) => s.process))],
    ['init-before-pivot', 'init-after-pivot', 'init-after-start'],
    'steps run before pivot, after pivot and after start',
  );
  const { result, records } = runTraced(root, b, id);
  t.equal(result.code, 0, `run --trace: ${describe(result)}`);
  t.match(result.stdout, /hello from explain-host/, 'the container ran');
  compare(t, plan, records);
});

t.test('--no-pivot: explain == trace', async (t) => {
  const root = stateRoot(t);
  const id = root.id('explain-nopivot');
  const b = makeBundle(t, 'true');
  const plan = explainJson(root, b, id, ['--no-pivot']).steps;
  t.ok(plan.some((s) => s.op === 'moveRoot') && !plan.some((s) => s.op === 'pivotRoot'), 'moveRoot instead of pivotRoot');
  const { result, records } = runTraced(root, b, id, { extra: ['--no-pivot'] });
  t.equal(result.code, 0, describe(result));
  compare(t, plan, records);
});

t.test('a user namespace and a joined namespace: explain == trace', async (t) => {
  const root = stateRoot(t);
  const id = root.id('explain-userns');
  // A network namespace to join, held by a process this test starts (and kills).
  const holder = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
  onTeardown(t, () => {
    holder.kill('SIGKILL');
  });
  await new Promise((r) => setTimeout(r, 200));
  const b = makeBundle(t, 'echo hello', (s: Spec) => {
    const linux = s.linux!;
    linux.namespaces = [
      { type: 'pid' },
      { type: 'ipc' },
      { type: 'uts' },
      { type: 'mount' },
      { type: 'user' },
      { type: 'network', path: `/proc/${holder.pid}/ns/net` },
    ];
    // The runtime's own uid and gid (0) stay mapped: the init uses them until its setresuid step.
    linux.uidMappings = [
      { containerID: 0, hostID: 0, size: 1 },
      { containerID: 1, hostID: 100000, size: 65535 },
    ];
    linux.gidMappings = [
      { containerID: 0, hostID: 0, size: 1 },
      { containerID: 1, hostID: 100000, size: 65535 },
    ];
    // A user namespace may not mount sysfs for a network namespace it does not own: bind the host's.
    s.mounts = s.mounts!.map((m) =>
      m.destination === '/sys'
        ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
        : m,
    );
    s.mounts = s.mounts.filter((m) => m.destination !== '/sys/fs/cgroup');
    const devpts = s.mounts.find((m) => m.destination === '/dev/pts');
    if (devpts) devpts.options = devpts.options!.filter((o) => o !== 'gid=5');
  });
  const doc = explainJson(root, b, id);
  const plan = doc.steps;
  const ops = plan.map((s) => s.op);
  t.ok(ops.includes('setns') && ops.includes('fork'), 'joining a namespace adds setns and fork steps');
  t.equal(plan[0].process, 'intermediate', 'the namespace steps run in the intermediate process');
  t.notOk(ops.includes('mknod'), 'no mknod in a user namespace: devices are bind mounts');
  t.same(doc.idMappings, { uid: ['0 0 1', '1 100000 65535'], gid: ['0 0 1', '1 100000 65535'] }, 'the id maps the runtime writes');
  const { result, records } = runTraced(root, b, id);
  t.equal(result.code, 0, `run --trace: ${describe(result)}`);
  compare(t, plan, records);
});
