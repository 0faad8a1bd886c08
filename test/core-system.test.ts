// What the container sees of the system: hostname, domainname, PID 1, masked and read-only paths,
// sysctls.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, makeBundle, mountAt, parseMountinfo, stateRoot } from './helpers/index.js';

function split(stdout: string) {
  const [before, after = ''] = stdout.split('---\n');
  return { lines: before.trim().split('\n'), mounts: parseMountinfo(after) };
}

t.test('hostname, domainname and PID 1', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'hostname; cat /proc/sys/kernel/domainname; echo $$', (s) => {
    s.hostname = 'rt-host';
    s.domainname = 'rt-domain';
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  t.same(r.stdout.trim().split('\n'), ['rt-host', 'rt-domain', '1']);
});

t.test('maskedPaths hide files and directories', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(
    t,
    [
      'stat -c "%F %t %T" /proc/timer_list',
      'echo "timer_list bytes $(wc -c < /proc/timer_list)"',
      'echo "secret entries $(ls -A /secret | wc -l)"',
      'cat /secret/file 2>/dev/null || echo secret-unreadable',
      'echo ---; cat /proc/self/mountinfo',
    ].join('; '),
    (s, b) => {
      mkdirSync(join(b.rootfs, 'secret'));
      writeFileSync(join(b.rootfs, 'secret/file'), 'hidden\n');
      s.linux!.maskedPaths!.push('/secret', '/does/not/exist');
    },
  );
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const { lines, mounts } = split(r.stdout);
  t.same(lines, ['character special file 1 3', 'timer_list bytes 0', 'secret entries 0', 'secret-unreadable']);
  const secret = mountAt(mounts, '/secret');
  t.equal(secret?.fstype, 'tmpfs', 'a masked directory is covered by a tmpfs');
  t.ok(secret?.options.includes('ro'), 'mounted read-only');
});

t.test('readonlyPaths refuse writes', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(
    t,
    [
      'echo changed > /proc/sys/kernel/hostname 2>/dev/null && echo sys-written || echo sys-refused',
      'hostname',
      'echo x > /data/f 2>/dev/null && echo data-written || echo data-refused',
      'echo ---; cat /proc/self/mountinfo',
    ].join('; '),
    (s, b) => {
      b.share('/data');
      s.hostname = 'rt-ro';
      s.linux!.readonlyPaths!.push('/data');
    },
  );
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const { lines, mounts } = split(r.stdout);
  t.same(lines, ['sys-refused', 'rt-ro', 'data-refused']);
  t.ok(mountAt(mounts, '/proc/sys')?.options.includes('ro'), '/proc/sys is mounted ro');
  t.ok(mountAt(mounts, '/data')?.options.includes('ro'), '/data is mounted ro');
});

t.test('linux.sysctl is visible inside (with the default read-only /proc/sys)', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/kernel/msgmax', (s) => {
    s.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '123456789', 'kernel.msgmax': '4096' };
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  t.same(r.stdout.trim().split('\n'), ['1', '123456789', '4096']);
});
