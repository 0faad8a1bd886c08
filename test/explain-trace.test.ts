// --trace on failures: the failed step is reported with its errno name and the hint from
// src/plan/hints.ts, on stderr as text or in the --log file as JSON; a failure in the runtime's part
// (joining the cgroups) is reported on its sync step; create --trace stops at park.
import t from 'tap';
import { mkdirSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { hintFor, hintTable } from '../src/plan/hints.js';
import { describe, errorLines, makeBundle, onTeardown, stateRoot } from './helpers/index.js';
import { explainJson, runTraced } from './explain-fixtures.js';

t.test('a missing executable: ENOENT on resolveExec, with the hint, on stderr', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['/no/such/program']);
  const r = root.run(b, root.id('trace-enoent'), ['--trace']);
  t.equal(r.code, 1, describe(r));
  const lines = errorLines(r);
  const failed = lines.find((l) => l.includes('FAILED'));
  t.match(
    failed,
    /^trace: #\d+ +resolveExec +process\.args\[0\] +FAILED ENOENT: exec \/no\/such\/program/,
    'the failed step, its errno name and message',
  );
  t.match(lines[lines.indexOf(failed!) + 1], /^trace: +hint: not found in the rootfs/, 'the hint on the next line');
  t.ok(lines.filter((l) => / ok \d+us$/.test(l)).length > 10, 'the steps before it are reported ok with their time');
  t.match(lines.at(-1), /process\.args\[0\]: exec \/no\/such\/program: ENOENT/, 'then the usual error line');
});

t.test('an unknown filesystem type: ENODEV on the mount, as JSON in the --log file', async (t) => {
  const root = stateRoot(t);
  const id = root.id('trace-enodev');
  const b = makeBundle(t, 'true', (s) => {
    s.mounts!.push({ destination: '/weird', type: 'nosuchfs', source: 'none' });
  });
  const plan = explainJson(root, b, id).steps;
  const { result, records } = runTraced(root, b, id);
  t.equal(result.code, 1, describe(result));
  const failed = records.find((r) => r.result === 'failed');
  t.match(failed, {
    op: 'mount',
    field: 'mounts[7]',
    errno: 'ENODEV',
    usec: 0,
    message: /mount none on \/weird/,
    hint: /does not know this filesystem type/,
  });
  t.same(
    records.map((r) => [r.index, r.op, r.field]),
    plan.slice(0, failed!.index + 1).map((s) => [s.index, s.op, s.field]),
    'the trace follows the plan up to the failure',
  );
});

t.test('a cgroup the init cannot join: ENOSPC on the sync step', async (t) => {
  const root = stateRoot(t);
  // A cpuset cgroup with no cpus that already exists (runt fills only the levels it creates):
  // nothing can join it. Made (and removed) by this test.
  const parent = `runt-test-trace-${process.pid}`;
  mkdirSync(`/sys/fs/cgroup/cpuset/${parent}`);
  mkdirSync(`/sys/fs/cgroup/cpuset/${parent}/c`);
  onTeardown(t, () => {
    for (const h of readdirSync('/sys/fs/cgroup')) {
      const dir = join('/sys/fs/cgroup', h, parent);
      try {
        rmdirSync(join(dir, 'c'));
      } catch {
        /* not there */
      }
      try {
        rmdirSync(dir);
      } catch {
        /* not there */
      }
    }
  });
  const b = makeBundle(t, 'true', (s) => {
    s.linux!.cgroupsPath = `/${parent}/c`;
  });
  const r = root.run(b, root.id('trace-enospc'), ['--trace']);
  t.equal(r.code, 1, describe(r));
  const failed = errorLines(r).find((l) => l.includes('FAILED'));
  // The init joins its cgroups itself at start-up (step -1), through the `tasks` files the runtime opened.
  t.match(failed, /^trace: #-1 +start-up +linux\.cgroupsPath +FAILED ENOSPC: .*join the cgroup/, 'the start-up failed with ENOSPC');
  t.ok(
    errorLines(r).some((l) => /hint: joining the cgroup failed: a v1 cpuset with empty cpuset\.cpus/.test(l)),
    'with the cgroup hint',
  );
});

t.test('create --trace reports up to park, then exits', async (t) => {
  const root = stateRoot(t);
  const id = root.id('trace-create');
  const b = makeBundle(t, 'true');
  const plan = explainJson(root, b, id).steps;
  const { result, records } = runTraced(root, b, id, { command: 'create' });
  t.equal(result.code, 0, describe(result));
  const park = plan.findIndex((s) => s.op === 'park');
  t.same(
    records.map((r) => r.index),
    plan.slice(0, park).map((s) => s.index),
    'every step before park',
  );
  t.ok(records.every((r) => r.result === 'ok'));
  t.equal(root.state(id)?.status, 'created');
});

t.test('the hint table', async (t) => {
  t.match(hintFor({ op: 'mount', errno: 'EPERM', userNamespace: true }), /user namespace/, 'EPERM on mount in a user namespace');
  t.match(hintFor({ op: 'mount', errno: 'EPERM', userNamespace: false }), /CAP_SYS_ADMIN/, 'EPERM on mount otherwise');
  t.match(hintFor({ op: 'pivotRoot', errno: 'EINVAL' }), /not a mount point/, 'EINVAL on pivot_root');
  t.match(hintFor({ op: 'exec', errno: 'ENOENT' }), /ELF interpreter/, 'ENOENT on exec');
  t.match(hintFor({ op: 'exec', errno: 'EACCES' }), /noexec/, 'EACCES on exec');
  t.match(hintFor({ op: 'mount', errno: 'EBUSY', fstype: 'devpts' }), /busy/, 'EBUSY on mount');
  t.match(hintFor({ op: 'sync', errno: 'ENOSPC' }), /cpuset/, 'ENOSPC on cgroup join');
  t.match(hintFor({ op: 'anything', errno: 'EACCES' }), /permissions/, 'a generic EACCES');
  t.equal(hintFor({ op: 'mount', errno: 'EWOULDBLOCK_NOT_AN_ERRNO' }), undefined, 'nothing for an unknown errno');
  // A rule is dead when an earlier unconditional rule has the same op and errno.
  const taken = new Set<string>();
  for (const r of hintTable()) {
    for (const op of r.ops === 'any' ? ['*'] : r.ops) {
      const key = `${op}/${r.errno}`;
      t.notOk(taken.has(key), `rule ${key} is reachable`);
      if (!r.conditional) taken.add(key);
    }
    t.ok(r.hint.length < 200 && !r.hint.includes('\n'), `one short line: ${r.hint.slice(0, 40)}`);
  }
});
