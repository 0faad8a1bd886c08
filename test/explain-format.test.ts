// The JSON of `runt explain` is a stable, documented format: its keys (a snapshot kept here), the
// args of every op (and docs/EXPLAIN.md lists each of them), the text form, and that explaining
// creates nothing.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, makeBundle, REPO, stateRoot } from './helpers/index.js';
import { everyFieldBundle, explainJson } from './explain-fixtures.js';

const TOP = ['format', 'id', 'bundle', 'rootfs', 'clone3', 'namespaces', 'idMappings', 'cgroups', 'seccomp', 'runtime', 'steps'];
const STEP = ['index', 'op', 'field', 'process', 'calls', 'args', 'why', 'runtime'];
const RUNTIME = ['when', 'step', 'what', 'field', 'calls'];
const NAMESPACE = ['type', 'field', 'how', 'path'];
const SECCOMP = [
  'defaultAction',
  'defaultErrnoRet',
  'architectures',
  'flags',
  'rules',
  'syscalls',
  'argumentRules',
  'actions',
  'listenerPath',
];

/** The args of each op (the snapshot; docs/EXPLAIN.md documents the same). */
const ARGS: Record<string, string[]> = {
  sync: ['tag', 'payloadSlot'],
  unshare: ['flags'],
  mount: [
    'source',
    'sourceInRoot',
    'target',
    'targetInRoot',
    'fstype',
    'flags',
    'data',
    'mkdir',
    'mode',
    'optional',
    'keepLockedFlags',
    'expectFs',
  ],
  openRoot: ['path'],
  pivotRoot: [],
  mask: ['path', 'expectFs', 'source'],
  mknod: ['path', 'type', 'mode', 'major', 'minor', 'uid', 'gid'],
  symlink: ['target', 'path'],
  writeProc: ['path', 'data'],
  sethostname: ['name'],
  setdomainname: ['name'],
  setsid: [],
  setrlimit: ['resource', 'soft', 'hard'],
  prctl: ['option', 'arg2'],
  capBounding: ['keep', 'drop'],
  capset: ['effective', 'permitted', 'inheritable'],
  ambient: ['raise'],
  setgroups: ['gids'],
  setresgid: ['gid'],
  setresuid: ['uid'],
  umask: ['mask'],
  chdir: ['path'],
  hook: ['path', 'args', 'env', 'timeoutMs'],
  resolveExec: ['name', 'searchPath'],
  park: ['fifo'],
  prepareFds: ['preserveFds'],
  seccomp: ['loadFlags', 'instructions', ...SECCOMP],
  exec: ['name', 'args', 'env', 'preserveFds'],
  joinKeyring: ['name'],
  mkdir: ['path', 'mode'],
};

t.test('the keys of the JSON document', async (t) => {
  const root = stateRoot(t);
  const b = everyFieldBundle(t);
  const doc = explainJson(root, b, 'keys') as Record<string, any>;
  t.same(Object.keys(doc), TOP, 'top-level keys');
  t.equal(doc.format, 'runt-explain/1');
  t.same(Object.keys(doc.clone3), ['flags', 'call']);
  t.ok(
    doc.clone3.flags.includes('CLONE_NEWPID') && !doc.clone3.flags.includes('CLONE_NEWCGROUP'),
    'clone3 flags by name; the cgroup namespace comes later',
  );
  for (const n of doc.namespaces) t.same(Object.keys(n), NAMESPACE, `namespace ${n.type}`);
  t.same(doc.namespaces.find((n: any) => n.type === 'cgroup').how, 'unshare', 'the cgroup namespace is unshared by a step');
  t.equal(doc.idMappings, null, 'no user namespace, no id maps');
  t.same(Object.keys(doc.cgroups), ['layout', 'paths', 'writes']);
  for (const w of doc.cgroups.writes) t.same(Object.keys(w), ['file', 'value', 'field']);
  t.ok(
    doc.cgroups.writes.some((w: any) => w.field === 'linux.resources.pids.limit' && w.value === '64' && w.file.endsWith('pids.max')),
    'pids.max 64',
  );
  t.ok(
    doc.cgroups.writes.some((w: any) => w.field === 'linux.resources.memory.limit' && w.value === String(64 * 1024 * 1024)),
    'the memory limit',
  );
  t.same(Object.keys(doc.seccomp), SECCOMP, 'seccomp summary keys');
  t.match(doc.seccomp, {
    defaultAction: 'SCMP_ACT_ALLOW',
    rules: 1,
    syscalls: 2,
    architectures: ['SCMP_ARCH_X86_64'],
    actions: { SCMP_ACT_ERRNO: 2 },
  });
  for (const a of doc.runtime) t.same(Object.keys(a), RUNTIME, `runtime action ${a.what}`);
  const whens = new Set(doc.runtime.map((a: any) => a.when));
  for (const w of ['create', 'spawn', 'sync-init', 'sync-create-runtime', 'parked', 'start', 'delete'])
    t.ok(whens.has(w), `runtime work at ${w}`);
  t.ok(
    doc.runtime.some((a: any) => a.when === 'sync-init' && a.calls.some((c: string) => c.includes('oom_score_adj'))),
    'oom_score_adj at sync INIT',
  );

  for (const s of doc.steps) {
    t.same(Object.keys(s), STEP, `step ${s.index} keys`);
    if (ARGS[s.op]) t.same(Object.keys(s.args), ARGS[s.op], `args of ${s.op} (step ${s.index})`);
    else t.fail(`op ${s.op} has no args snapshot: add it here and to docs/EXPLAIN.md`);
  }
  const caps = doc.steps.find((s: any) => s.op === 'capset').args;
  t.same(caps.permitted, ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_AUDIT_WRITE'], 'capabilities by name, in number order');
  t.same(doc.steps.find((s: any) => s.op === 'ambient').args.raise, ['CAP_KILL'], 'the ambient capability');
  const rlimit = doc.steps.find((s: any) => s.op === 'setrlimit').args;
  t.same(rlimit, { resource: 'RLIMIT_NOFILE', soft: 512, hard: 1024 }, 'rlimits by name');
  const proc = doc.steps.find((s: any) => s.field === 'mounts[0]').args;
  t.match(proc, { source: 'proc', target: '/proc', fstype: 'proc', flags: [], expectFs: 'PROC_SUPER_MAGIC' }, 'the proc mount');
  const data = doc.steps.filter((s: any) => s.field === 'mounts[7]');
  t.same(
    data.map((s: any) => s.args.flags),
    [
      ['MS_BIND', 'MS_REC'],
      ['MS_RDONLY', 'MS_NOSUID', 'MS_REMOUNT', 'MS_BIND', 'MS_REC'],
      ['MS_REC', 'MS_PRIVATE'],
    ],
    'a bind: mount, remount for its flags, propagation',
  );
  const sync = doc.steps.find((s: any) => s.op === 'sync');
  t.ok(
    sync.runtime.some((c: string) => c.includes('oom_score_adj')),
    'the sync step lists what the runtime does meanwhile',
  );
  t.ok(
    doc.runtime.some(
      (r: any) =>
        r.when === 'spawn' &&
        r.what === 'born in the cgroups' &&
        r.calls.some((c: string) => c.endsWith('/tasks before step 0') || c.startsWith('clone3 CLONE_INTO_CGROUP')),
    ),
    'the init joins its cgroups at birth, not at the sync',
  );
  t.equal(doc.steps.find((s: any) => s.op === 'sethostname').calls[0], 'sethostname("explain-host", 12)', 'the call as C');
});

t.test('docs/EXPLAIN.md documents every key', async (t) => {
  const doc = readFileSync(join(REPO, 'docs/EXPLAIN.md'), 'utf8');
  for (const key of [...TOP, ...STEP, ...RUNTIME, ...NAMESPACE, ...SECCOMP]) t.ok(doc.includes(`\`${key}\``), `${key} is documented`);
  for (const [op, keys] of Object.entries(ARGS)) {
    const argsTable = doc.slice(doc.indexOf('| op | args |'));
    const row = argsTable.split('\n').find((l) => l.startsWith(`| \`${op}\` |`));
    t.ok(row, `${op} has a row in the args table`);
    for (const k of keys.filter((k) => !SECCOMP.includes(k))) t.ok(row?.includes(`\`${k}\``), `${op}.${k} is documented`);
  }
});

t.test('the text form and the options that change the plan', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true');
  const r = root.runt(['explain', '--bundle', b.dir]);
  t.equal(r.code, 0, describe(r));
  for (const text of [
    '#0 ',
    'pivot_root(".", ".")',
    'the container init, before pivot_root',
    'the container init, after pivot_root',
    'after `runt start`',
    'clone3({flags: CLONE_PIDFD|',
    'sethostname("runt", 4)',
    'prctl(PR_CAPBSET_DROP, cap)',
    'why: ',
  ]) {
    t.ok(r.stdout.includes(text), `text shows ${JSON.stringify(text)}`);
  }
  const plain = explainJson(root, b, 'a').steps;
  const noPivot = explainJson(root, b, 'a', ['--no-pivot']).steps;
  t.same(
    noPivot.map((s) => s.op),
    plain.map((s) => (s.op === 'pivotRoot' ? 'moveRoot' : s.op)),
    '--no-pivot swaps one step',
  );
  t.notOk(
    explainJson(root, b, 'a', ['--no-new-keyring']).steps.some((s) => s.op === 'joinKeyring'),
    '--no-new-keyring: no keyring step',
  );
  const fds = explainJson(root, b, 'a', ['--preserve-fds', '2']).steps.find((s) => s.op === 'exec')!;
  t.ok((fds.args.env as string[]).includes('LISTEN_FDS=2'), '--preserve-fds adds LISTEN_FDS');
});

t.test('explaining creates nothing', async (t) => {
  const root = stateRoot(t);
  const id = root.id('explain-nothing');
  const b = everyFieldBundle(t);
  const doc = explainJson(root, b, id) as Record<string, any>;
  t.same(root.entries(), [], 'no state directory');
  for (const dir of Object.values(doc.cgroups.paths) as string[]) t.notOk(existsSync(dir), `no cgroup ${dir}`);
  t.notOk(existsSync(join(b.rootfs, 'scratch')), 'no mount target made in the rootfs');
});

t.test('an invalid bundle: one line naming the field', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true', (s) => {
    s.process!.rlimits!.push({ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 });
  });
  const r = root.runt(['explain', '--bundle', b.dir]);
  t.equal(r.code, 1, describe(r));
  t.match(r.stderr, /process\.rlimits\[1\]/, 'the message names the field');
  t.equal(r.stdout, '', 'no plan printed');
});
