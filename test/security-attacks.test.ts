// Attacks on the runtime through what a config or an image controls (issue 11, docs/SECURITY.md).
// Each one worked against runt before the fix; each asserts here that it no longer does. No test
// writes a real host file: the attacks are pointed at temporary files the test owns.
import t from 'tap';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, errorLines, leftovers, makeBundle, stateRoot, type Bundle } from './helpers/index.js';
import type { Spec } from '../src/spec/types.js';

/** A host file the test owns, bind-mounted read-write into the container at `dest`. */
function ownedHostFile(b: Bundle, s: Spec, dest: string, content: string): string {
  const file = join(b.hostDir('owned'), 'target');
  writeFileSync(file, content);
  s.mounts!.push({ destination: dest, type: 'bind', source: file, options: ['bind', 'rw'] });
  return file;
}

t.test('CVE-2025-52881 class: a bind over a /proc/sys file cannot redirect a sysctl write', async (t) => {
  const root = stateRoot(t);
  let hostFile = '';
  const r = root.run(makeBundle(t, 'true', (s, b) => {
    hostFile = ownedHostFile(b, s, '/proc/sys/net/ipv4/ip_forward', 'untouched\n');
    s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
  }));
  t.not(r.code, 0, 'refused');
  t.match(errorLines(r).join('\n'), /^mounts\[\d+\]\.destination: nothing may be mounted inside \/proc \(\/proc\/sys\/net\/ipv4\/ip_forward\)/m);
  t.equal(readFileSync(hostFile, 'utf8'), 'untouched\n', 'the host file is unchanged');
  t.same(leftovers(root.path, r.id), []);

  // The same through a symlink in the image: /x leads into /proc/sys.
  let viaLink = '';
  const link = root.run(makeBundle(t, 'true', (s, b) => {
    symlinkSync('/proc/sys/net/ipv4', join(b.rootfs, 'x'));
    viaLink = ownedHostFile(b, s, '/x/ip_forward', 'untouched\n');
    s.linux!.sysctl = { 'net.ipv4.ip_forward': '1' };
  }));
  t.not(link.code, 0, 'refused');
  t.match(errorLines(link).join('\n'), /^mounts\[\d+\]\.destination: nothing may be mounted inside \/proc .*\(\/x\/ip_forward resolves to \/proc\/sys\/net\/ipv4\/ip_forward in the rootfs\)/m);
  t.equal(readFileSync(viaLink, 'utf8'), 'untouched\n', 'the host file is unchanged');

  // Anything but a procfs on /proc itself is refused too (runc's rule).
  const tmpfsProc = root.run(makeBundle(t, 'true', (s) => {
    s.mounts!.push({ destination: '/proc', type: 'tmpfs', source: 'tmpfs' });
  }));
  t.not(tmpfsProc.code, 0);
  t.match(errorLines(tmpfsProc).join('\n'), /^mounts\[\d+\]\.destination: only a procfs may be mounted on \/proc, not "tmpfs"/m);

  // The lxcfs-style exceptions runc allows still work: a file bound over /proc/uptime.
  const lxcfs = root.run(makeBundle(t, 'cat /proc/uptime', (s, b) => { ownedHostFile(b, s, '/proc/uptime', '42.00 42.00\n'); }));
  t.equal(lxcfs.code, 0, describe(lxcfs));
  t.equal(lxcfs.stdout, '42.00 42.00\n', 'a bind over /proc/uptime (lxcfs) is allowed');
});

t.test('ids above 2^31-1 are refused: (uid_t)-1 would leave the process root', async (t) => {
  const root = stateRoot(t);
  const cases: Array<[string, (s: Spec) => void, RegExp]> = [
    ['process.user.uid', (s) => { s.process!.user.uid = 4294967295; }, /^process\.user\.uid: must be an id in 0\.\.2147483647, got 4294967295$/m],
    ['process.user.gid', (s) => { s.process!.user.gid = 4294967295; }, /^process\.user\.gid: must be an id in 0\.\.2147483647, got 4294967295$/m],
    ['process.user.additionalGids', (s) => { s.process!.user.additionalGids = [4294967295]; }, /^process\.user\.additionalGids\[0\]: must be an id in 0\.\.2147483647/m],
    ['linux.uidMappings', (s) => {
      s.linux!.namespaces!.push({ type: 'user' });
      s.linux!.uidMappings = [{ containerID: 0, hostID: 2147483647, size: 2 }];
      s.linux!.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
    }, /^linux\.uidMappings\[0\]\.size: hostID 2147483647 \+ size 2 goes past 2147483647/m],
  ];
  for (const [field, patch, expected] of cases) {
    const r = root.run(makeBundle(t, 'id -u; id -g', patch));
    t.not(r.code, 0, `${field}: refused (${r.stdout.trim().replace(/\n/g, ' ')})`);
    t.match(errorLines(r).join('\n'), expected, field);
    t.same(leftovers(root.path, r.id), [], `${field}: nothing left behind`);
  }

  // exec -u into a running container.
  const b = makeBundle(t, 'sleep 60');
  const c = root.create(b);
  t.equal(c.code, 0, describe(c));
  const e = root.runt(['exec', '-u', '4294967295', c.id, 'id', '-u']);
  t.not(e.code, 0, `exec -u 4294967295 refused (${e.stdout.trim()})`);
  t.match(errorLines(e).join('\n'), /--user "4294967295": uid 4294967295 is outside 0\.\.2147483647/);
  const g = root.runt(['exec', '-u', '0:4294967295', c.id, 'id', '-g']);
  t.not(g.code, 0, `exec -u 0:4294967295 refused (${g.stdout.trim()})`);
});

t.test('a mount on the root, or on a link to it, is refused instead of dropped', async (t) => {
  const root = stateRoot(t);
  const onRoot = root.run(makeBundle(t, 'true', (s) => { s.mounts!.push({ destination: '/', type: 'tmpfs', source: 'tmpfs' }); }));
  t.not(onRoot.code, 0, 'tmpfs on / refused');
  t.match(errorLines(onRoot).join('\n'), /^mounts\[\d+\]\.destination: a mount on the container's root \("\/"\) is not allowed/m);

  const dotted = root.run(makeBundle(t, 'true', (s) => { s.mounts!.push({ destination: '/tmp/..', type: 'tmpfs', source: 'tmpfs' }); }));
  t.not(dotted.code, 0, 'tmpfs on /tmp/.. refused');

  const viaLink = root.run(makeBundle(t, 'true', (s, b) => {
    symlinkSync('/', join(b.rootfs, 'toroot'));
    s.mounts!.push({ destination: '/toroot', type: 'tmpfs', source: 'tmpfs' });
  }));
  t.not(viaLink.code, 0, 'tmpfs on a link to / refused');
  t.match(errorLines(viaLink).join('\n'), /^mounts\[\d+\]\.destination: a mount on the container's root .*\(\/toroot resolves to \/ in the rootfs\)/m);
  t.same(leftovers(root.path, viaLink.id), []);
});

t.test('a config nested too deep is refused by name, not by a stack overflow', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true');
  const depth = 5000;
  const text = readFileSync(b.configPath, 'utf8').replace(/^\{/, `{"x-unknown": {"deep": ${'['.repeat(depth)}${']'.repeat(depth)}},`);
  writeFileSync(b.configPath, text);
  const r = root.run(b);
  t.not(r.code, 0, 'refused');
  t.match(errorLines(r).join('\n'), /^config\.json: nested more than 1000 levels deep at line 1 column \d+ \(under \["x-unknown"\]\.deep\[0\]\[0\]\.\.\.\)/m);
  t.notMatch(r.stderr, /Maximum call stack/);
  t.same(leftovers(root.path, r.id), []);

  // 900 levels are fine.
  const ok = makeBundle(t, 'true');
  writeFileSync(ok.configPath, readFileSync(ok.configPath, 'utf8').replace(/^\{/, `{"x-unknown": ${'['.repeat(900)}${']'.repeat(900)},`));
  const r2 = root.run(ok);
  t.equal(r2.code, 0, describe(r2));
});

t.test('a hook timeout the runtime cannot honour is refused by name', async (t) => {
  const root = stateRoot(t);
  for (const timeout of [2147484, 1.5]) { // (0 and the rest: test/spec.test.ts)
    const r = root.run(makeBundle(t, 'true', (s) => { s.hooks = { prestart: [{ path: '/bin/true', timeout }] }; }));
    t.not(r.code, 0, `timeout ${timeout} refused`);
    t.match(errorLines(r).join('\n'), /^hooks\.prestart\[0\]\.timeout: must be a whole number of seconds in 1\.\.2147483, got /m, `timeout ${timeout}`);
    t.notMatch(r.stderr, /TimeoutOverflowWarning/);
  }
  const max = root.run(makeBundle(t, 'true', (s) => { s.hooks = { prestart: [{ path: '/bin/true', timeout: 2147483 }] }; }));
  t.equal(max.code, 0, `the longest timeout setTimeout can wait is accepted: ${describe(max)}`);
});
