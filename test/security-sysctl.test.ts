// linux.sysctl: only keys the container's own namespaces isolate (IPC: kernel.msg*, kernel.sem,
// kernel.shm*, fs.mqueue.*; network: net.*; UTS: kernel.hostname, kernel.domainname). A host-wide
// key, or a namespaced key in a namespace that is the runtime's own, is refused with one line, and
// the host's value stays as it was.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { describe, errorLines, leftovers, makeBundle, stateRoot } from './helpers/index.js';
import type { Spec } from '../src/spec/types.js';
import { lines } from './security-helpers.js';

const hostValue = (key: string) => readFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, 'utf8');
const withSysctl = (sysctl: Record<string, string>, more?: (s: Spec) => void) => (s: Spec) => {
  s.linux!.sysctl = sysctl;
  more?.(s);
};

t.test('host-wide keys are refused with one line, and the host keeps its value', async (t) => {
  const root = stateRoot(t);
  for (const [key, value] of [
    ['vm.swappiness', '17'],
    ['kernel.pid_max', '40000'],
    ['kernel.core_pattern', '|/tmp/x'],
    ['fs.file-max', '1000'],
    ['kernel/randomize_va_space', '0'],
  ]) {
    const before = hostValue(key);
    const b = makeBundle(t, 'true', withSysctl({ [key]: value }));
    const r = root.create(b);
    t.not(r.code, 0, `${key}: refused`);
    t.same(errorLines(r), [`linux.sysctl["${key}"]: sysctl "${key}" is not in a separate kernel namespace`], `${key}: one clear line`);
    t.equal(hostValue(key), before, `${key}: the host's value is unchanged`);
    t.same(leftovers(root.path, r.id, b.dir), [], `${key}: nothing left behind`);
  }
});

t.test('namespaced keys are set inside the container only', async (t) => {
  const root = stateRoot(t);
  const keys = {
    'kernel.shmmax': '123456789',
    'fs.mqueue.msg_max': '17',
    'net.ipv4.ip_forward': '1',
    'kernel.domainname': 'sysctl.example',
  };
  const before = Object.fromEntries(Object.keys(keys).map((k) => [k, hostValue(k)]));
  const script = Object.keys(keys)
    .map((k) => `cat /proc/sys/${k.replace(/\./g, '/')}`)
    .join('; ');
  // The default readonlyPaths include /proc/sys: the values are written before it turns read-only.
  const r = root.run(makeBundle(t, `${script}; echo 5 > /proc/sys/kernel/shmmni 2>&1 || echo still-read-only`, withSysctl(keys)));
  t.equal(r.code, 0, describe(r));
  t.same(lines(r.stdout).slice(0, 4), Object.values(keys), 'the container sees the values');
  t.match(r.stdout, /still-read-only/, 'and /proc/sys is read-only afterwards');
  for (const k of Object.keys(keys)) t.equal(hostValue(k), before[k], `${k}: the host's value is unchanged`);
});

t.test("a namespaced key needs that namespace to be the container's", async (t) => {
  const root = stateRoot(t);
  const without = (type: string) => (s: Spec) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== type);
    if (type === 'uts') delete s.hostname;
  };
  const cases: Array<[string, string, string]> = [
    ['net.ipv4.ip_forward', 'network', 'needs a private network namespace'],
    ['kernel.shmmax', 'ipc', 'needs a private IPC namespace'],
    ['kernel.hostname', 'uts', 'needs a private UTS namespace'],
  ];
  for (const [key, ns, message] of cases) {
    const r = root.create(makeBundle(t, 'true', withSysctl({ [key]: '1' }, without(ns))));
    t.not(r.code, 0, `${key} without a ${ns} namespace: refused`);
    t.same(errorLines(r), [`linux.sysctl["${key}"]: sysctl "${key}" ${message}`]);
  }

  // Joining the runtime's own network namespace by path is no private namespace either.
  const before = hostValue('net.ipv4.ip_forward');
  const value = before.trim() === '1' ? '0' : '1';
  const joinHost = (s: Spec) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((n) =>
      n.type === 'network' ? { type: 'network', path: `/proc/${process.pid}/ns/net` } : n,
    );
  };
  const host = root.create(makeBundle(t, 'true', withSysctl({ 'net.ipv4.ip_forward': value }, joinHost)));
  t.not(host.code, 0, "net.* in the host's network namespace: refused");
  t.same(errorLines(host), [
    `linux.sysctl["net.ipv4.ip_forward"]: sysctl "net.ipv4.ip_forward" is not allowed in the host's network namespace (/proc/${process.pid}/ns/net)`,
  ]);
  t.equal(hostValue('net.ipv4.ip_forward'), before, "the host's value is unchanged");

  // The control: another container's network namespace, joined by path, is fine.
  const other = makeBundle(t, 'sleep 60');
  const c = root.create(other);
  t.equal(c.code, 0, describe(c));
  const pid = root.state(c.id)!.pid;
  const joined = root.run(
    makeBundle(
      t,
      'cat /proc/sys/net/ipv4/ip_forward',
      withSysctl({ 'net.ipv4.ip_forward': '1' }, (s) => {
        s.linux!.namespaces = s.linux!.namespaces!.map((n) =>
          n.type === 'network' ? { type: 'network', path: `/proc/${pid}/ns/net` } : n,
        );
      }),
    ),
  );
  t.equal(joined.code, 0, describe(joined));
  t.equal(joined.stdout, '1\n', 'set in the joined namespace');
  t.equal(hostValue('net.ipv4.ip_forward'), before, 'and not on the host');
});

t.test("a key cannot climb out of its namespace's directory", async (t) => {
  const root = stateRoot(t);
  const before = hostValue('kernel.pid_max');
  const key = 'net/../../kernel/pid_max';
  const r = root.run(makeBundle(t, 'true', withSysctl({ [key]: '40000' })));
  t.not(r.code, 0, 'refused: every dot becomes a slash, so there is no ".." to follow');
  t.equal(errorLines(r).length, 1, JSON.stringify(r.stderr));
  t.equal(hostValue('kernel.pid_max'), before, "the host's pid_max is unchanged");
});
