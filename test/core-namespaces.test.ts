// Namespaces as the kernel shows them: new ones differ from the host's, `path` joins an existing
// one, and a user namespace maps the ids.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, makeBundle, nsInode, procStatus, stateRoot, statusNumbers, waitForFile } from './helpers/index.js';

const NS_FILES = ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup'];
const PRINT_NS = `for n in ${NS_FILES.join(' ')}; do echo "$n $(readlink /proc/self/ns/$n)"; done`;

function parseNs(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
}

t.test('every namespace in the config is new', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, PRINT_NS, (s) => {
    s.linux!.namespaces!.push({ type: 'cgroup' });
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const inside = parseNs(r.stdout);
  for (const n of NS_FILES) {
    t.match(inside[n], new RegExp(`^${n}:\\[\\d+\\]$`), `${n} namespace is readable inside`);
    t.not(inside[n], nsInode('self', n), `${n} namespace differs from the host's`);
  }
});

t.test('a namespace not in the config is shared with the host', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, PRINT_NS, (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.filter((n) => n.type !== 'uts' && n.type !== 'network');
    s.hostname = undefined;
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const inside = parseNs(r.stdout);
  t.equal(inside.uts, nsInode('self', 'uts'), "uts is the host's");
  t.equal(inside.net, nsInode('self', 'net'), "net is the host's");
  t.not(inside.mnt, nsInode('self', 'mnt'), 'mnt is new');
});

t.test('linux.namespaces[].path joins the namespace of another container', async (t) => {
  const root = stateRoot(t);
  const a = makeBundle(t, ['sleep', '1000']);
  const ca = root.create(a);
  t.equal(ca.code, 0, describe(ca));
  const aPid = root.state(ca.id)?.pid ?? 0;
  t.ok(aPid > 0);

  const b = makeBundle(t, PRINT_NS, (s) => {
    s.linux!.namespaces = s.linux!.namespaces!.map((n) => (n.type === 'network' ? { type: 'network', path: `/proc/${aPid}/ns/net` } : n));
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const inside = parseNs(r.stdout);
  t.equal(inside.net, nsInode(aPid, 'net'), 'same network namespace as A');
  t.not(inside.net, nsInode('self', 'net'), "which is not the host's");
  for (const n of ['pid', 'ipc', 'uts', 'mnt']) {
    t.not(inside[n], nsInode(aPid, n), `${n}: a new namespace, not A's`);
    t.not(inside[n], nsInode('self', n), `${n}: not the host's either`);
  }
});

t.test('a user namespace with uid/gid mappings', async (t) => {
  const root = stateRoot(t);
  const mapping = [{ containerID: 0, hostID: 100000, size: 65536 }];
  const b = makeBundle(t, 'cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; ls -ln /bin/busybox', (s) => {
    s.linux!.namespaces!.push({ type: 'user' });
    s.linux!.uidMappings = mapping;
    s.linux!.gidMappings = mapping;
  });
  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  const pid = root.state(c.id)?.pid ?? 0;
  t.ok(pid > 0);
  const status = procStatus(pid);
  t.same(statusNumbers(status.Uid), [100000, 100000, 100000, 100000], 'host uid of the init is 100000');
  t.same(statusNumbers(status.Gid), [100000, 100000, 100000, 100000], 'host gid of the init is 100000');
  t.not(nsInode(pid, 'user'), nsInode('self', 'user'), 'a new user namespace');

  t.equal(root.runt(['start', c.id]).code, 0);
  t.equal((await root.waitStopped(c.id))?.status, 'stopped');
  const out = await waitForFile(join(b.dir, `${c.id}.stdout`));
  const lines = out.trim().split('\n');
  t.same(lines[0].trim().split(/\s+/).map(Number), [0, 100000, 65536], 'uid_map');
  t.same(lines[1].trim().split(/\s+/).map(Number), [0, 100000, 65536], 'gid_map');
  t.equal(lines[2], '0', 'uid 0 inside');
  t.equal(lines[3], '0', 'gid 0 inside');
  t.match(lines[4], /^\S+\s+\d+\s+65534\s+65534\s/, "host root's files show as nobody");
  t.equal(readFileSync(join(b.dir, `${c.id}.stderr`), 'utf8'), '', 'nothing on stderr');
});

t.test('a time namespace, with and without offsets', async (t) => {
  const root = stateRoot(t);
  const hostUptime = () => Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const print = 'readlink /proc/self/ns/time; cut -d" " -f1 /proc/uptime; echo pid=$$';
  const plain = makeBundle(t, print, (s) => {
    s.linux!.namespaces!.push({ type: 'time' });
  });
  const r1 = root.run(plain);
  t.equal(r1.code, 0, describe(r1));
  const [ns1, up1] = r1.stdout.trim().split('\n');
  t.not(ns1, nsInode('self', 'time'), 'the time namespace is new');
  t.ok(Math.abs(Number(up1) - hostUptime()) < 60, "no offset: uptime is the host's");

  const offset = 100000;
  const shifted = makeBundle(t, print, (s) => {
    s.linux!.namespaces!.push({ type: 'time' });
    s.linux!.timeOffsets = { boottime: { secs: offset, nanosecs: 0 }, monotonic: { secs: offset, nanosecs: 0 } };
  });
  const r2 = root.run(shifted);
  t.equal(r2.code, 0, describe(r2));
  const [ns2, up2, pid] = r2.stdout.trim().split('\n');
  t.not(ns2, nsInode('self', 'time'), 'the time namespace is new');
  const diff = Number(up2) - hostUptime();
  t.ok(diff > offset - 60 && diff < offset + 60, `boottime is shifted by the offset (${diff}s)`);
  t.equal(pid, 'pid=1', 'the init is still PID 1 after the fork the offsets need');
});
