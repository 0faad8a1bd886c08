// AppArmor and SELinux: runt applies neither, so a config (or an exec) that asks for a profile or
// a label is refused before anything is made — one line naming the field, exit 1, nothing left —
// instead of running the process unconfined. (runc refuses a process label when SELinux is off and
// fails writing the AppArmor profile to attr/exec when AppArmor is off.)
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../src/spec/types.js';
import { describe, errorLines, leftovers, makeBundle, stateRoot } from './helpers/index.js';
import { apparmorEnabled, selinuxEnabled } from '../src/security/lsm.js';

const apparmorText = apparmorEnabled() ? /runt does not apply AppArmor profiles/ : /AppArmor is not enabled on this host$/;
const selinuxText = selinuxEnabled() ? /runt does not apply SELinux labels/ : /SELinux is not enabled on this host$/;

const cases: Array<{ field: string; text: RegExp; patch: (s: Spec) => void }> = [
  {
    field: 'process.apparmorProfile',
    text: apparmorText,
    patch: (s) => {
      s.process!.apparmorProfile = 'runt-test-profile';
    },
  },
  {
    field: 'process.selinuxLabel',
    text: selinuxText,
    patch: (s) => {
      s.process!.selinuxLabel = 'system_u:system_r:container_t:s0';
    },
  },
  {
    field: 'linux.mountLabel',
    text: selinuxText,
    patch: (s) => {
      s.linux!.mountLabel = 'system_u:object_r:container_file_t:s0';
    },
  },
];

t.test('this host: no AppArmor, no SELinux', async (t) => {
  t.notOk(existsSync('/sys/kernel/security/lsm') && /apparmor|selinux/.test(readFileSync('/sys/kernel/security/lsm', 'utf8')));
  t.notOk(apparmorEnabled());
  t.notOk(selinuxEnabled());
});

for (const c of cases) {
  t.test(`${c.field} is refused by create, run and explain`, async (t) => {
    const root = stateRoot(t);
    const b = makeBundle(t, 'true', c.patch);
    for (const command of ['create', 'run', 'explain']) {
      const id = root.id('lsm');
      const r = command === 'create' ? root.create(b, id) : command === 'run' ? root.run(b, id) : root.runt(['explain', '--bundle', b.dir]);
      t.equal(r.code, 1, `${command} exits 1: ${describe(r)}`);
      const lines = errorLines(r);
      t.equal(lines.length, 1, `${command}: one line on stderr: ${JSON.stringify(r.stderr)}`);
      t.ok(lines[0]?.startsWith(`${c.field}: `), `${command}: the line names ${c.field}: ${lines[0]}`);
      t.match(lines[0] ?? '', c.text);
      t.same(root.entries(), [], `${command}: no state directory`);
      t.same(leftovers(root.path, id, b.dir), [], `${command}: no cgroup, mount or process left`);
    }
  });
}

t.test('empty strings mean "not set", as in runc', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'echo ran', (s) => {
    s.process!.apparmorProfile = '';
    s.process!.selinuxLabel = '';
    s.linux!.mountLabel = '';
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout.trim(), 'ran');
});

t.test('exec --apparmor, --process-label and a process JSON with either are refused; the container is untouched', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['sleep', '1000']);
  const id = root.id('lsm-exec');
  const c = root.runt(['run', '-d', '--bundle', b.dir, id], { stdoutFile: join(b.dir, 'run.out'), stderrFile: join(b.dir, 'run.err') });
  t.equal(c.code, 0, describe(c));
  const processFile = join(b.dir, 'process.json');
  writeFileSync(processFile, JSON.stringify({ args: ['true'], cwd: '/', user: { uid: 0, gid: 0 }, apparmorProfile: 'p' }));
  const attempts: Array<[string[], string, RegExp]> = [
    [['exec', '--apparmor', 'unconfined', id, 'true'], 'process.apparmorProfile', apparmorText],
    [['exec', '--process-label', 'system_u:system_r:container_t:s0', id, 'true'], 'process.selinuxLabel', selinuxText],
    [['exec', '--process', processFile, id], 'process.apparmorProfile', apparmorText],
  ];
  for (const [args, field, text] of attempts) {
    const r = root.runt(args);
    t.equal(r.code, 1, `${args.slice(0, 2).join(' ')} exits 1: ${describe(r)}`);
    const lines = errorLines(r);
    t.equal(lines.length, 1, JSON.stringify(r.stderr));
    t.ok(lines[0]?.startsWith(`${field}: `), lines[0]);
    t.match(lines[0] ?? '', text);
  }
  const ps = root.runt(['ps', '--format', 'json', id]);
  t.same(JSON.parse(ps.stdout).length, 1, 'no process was started in the container');
  t.equal(root.state(id)?.status, 'running');
});

t.test('features: apparmor and selinux are not enabled (runt applies neither)', async (t) => {
  const root = stateRoot(t);
  const r = root.runt(['features']);
  t.equal(r.code, 0, describe(r));
  const f = JSON.parse(r.stdout) as { linux: { apparmor: { enabled: boolean }; selinux: { enabled: boolean } } };
  t.same([f.linux.apparmor, f.linux.selinux], [{ enabled: false }, { enabled: false }]);
});
