// Mounts as the container's mountinfo shows them: the default ones, binds (ro/rw), tmpfs options,
// created destinations, symlinks in the image that point outside it, and a read-only root.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, hostMountsNaming, makeBundle, mountAt, parseMountinfo, stateRoot } from './helpers/index.js';

/** Runs `script` then prints the mountinfo after a separator line; returns both parts. */
const WITH_MOUNTINFO = (script: string) => `${script}; echo ---; cat /proc/self/mountinfo`;
function split(stdout: string) {
  const [before, after = ''] = stdout.split('---\n');
  return { lines: before.trim().split('\n'), mounts: parseMountinfo(after) };
}

t.test('the default mounts', async (t) => {
  const root = stateRoot(t);
  const r = root.run(makeBundle(t, WITH_MOUNTINFO('true')));
  t.equal(r.code, 0, describe(r));
  const { mounts } = split(r.stdout);
  const expect: Array<[string, string, string[]]> = [
    ['/', '', ['ro']],
    ['/proc', 'proc', []],
    ['/dev', 'tmpfs', ['nosuid']],
    ['/dev/pts', 'devpts', ['nosuid', 'noexec']],
    ['/dev/shm', 'tmpfs', ['nosuid', 'nodev', 'noexec']],
    ['/dev/mqueue', 'mqueue', ['nosuid', 'nodev', 'noexec']],
    ['/sys', 'sysfs', ['ro', 'nosuid', 'nodev', 'noexec']],
    ['/sys/fs/cgroup', 'tmpfs', ['ro']],
  ];
  for (const [point, fstype, options] of expect) {
    const m = mountAt(mounts, point);
    t.ok(m, `${point} is a mount point`);
    if (!m) continue;
    if (fstype) t.equal(m.fstype, fstype, `${point} is ${fstype}`);
    for (const o of options) t.ok(m.options.includes(o), `${point} has ${o} (${m.options.join(',')})`);
  }
  const dev = mountAt(mounts, '/dev');
  t.ok(dev?.superOptions.includes('size=65536k'), `/dev tmpfs has size=65536k (${dev?.superOptions.join(',')})`);
  t.ok(dev?.superOptions.includes('mode=755'), '/dev tmpfs has mode=755');
  const cpu = mounts.find((m) => m.mountPoint.startsWith('/sys/fs/cgroup/') && m.fstype === 'cgroup');
  t.ok(cpu, 'cgroup hierarchies are mounted under /sys/fs/cgroup');
});

t.test('bind mounts: ro is read-only inside, rw is writable', async (t) => {
  const root = stateRoot(t);
  let ro = '';
  let rw = '';
  const b = makeBundle(
    t,
    WITH_MOUNTINFO('echo x > /ro/f 2>/dev/null && echo ro-written || echo ro-refused; echo y > /rw/f && echo rw-written; cat /ro/existing'),
    (_s, b) => {
      ro = b.share('/ro', ['rbind', 'ro']);
      rw = b.share('/rw', ['rbind', 'rw']);
      writeFileSync(join(ro, 'existing'), 'visible\n');
    },
  );
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const { lines, mounts } = split(r.stdout);
  t.same(lines, ['ro-refused', 'rw-written', 'visible']);
  t.notOk(existsSync(join(ro, 'f')), 'nothing written through the ro bind');
  t.equal(readFileSync(join(rw, 'f'), 'utf8'), 'y\n', 'the rw bind wrote the host file');
  t.ok(mountAt(mounts, '/ro')?.options.includes('ro'), '/ro is mounted ro');
  t.ok(mountAt(mounts, '/rw')?.options.includes('rw'), '/rw is mounted rw');
});

t.test('tmpfs options show in mountinfo', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, WITH_MOUNTINFO('true'), (s) => {
    s.mounts!.push({ destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=700', 'noexec'] });
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const m = mountAt(split(r.stdout).mounts, '/scratch');
  t.equal(m?.fstype, 'tmpfs');
  t.ok(m?.superOptions.includes('size=1024k'), `size=1024k (${m?.superOptions.join(',')})`);
  t.ok(m?.superOptions.includes('mode=700'), 'mode=700');
  t.ok(m?.options.includes('noexec'), 'noexec');
});

t.test('missing mount destinations are created inside the rootfs', async (t) => {
  const root = stateRoot(t);
  let dirSrc = '';
  const b = makeBundle(t, WITH_MOUNTINFO('test -d /new/deep/dir && echo tmpfs-dir; cat /etc/new-file; ls /x/y/z'), (s, b) => {
    dirSrc = b.hostDir('dir-src');
    writeFileSync(join(dirSrc, 'in-dir'), '');
    writeFileSync(join(b.dir, 'file-src'), 'file content\n');
    s.mounts!.push(
      { destination: '/new/deep/dir', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
      { destination: '/etc/new-file', type: 'bind', source: join(b.dir, 'file-src'), options: ['bind', 'ro'] },
      { destination: '/x/y/z', type: 'bind', source: dirSrc, options: ['rbind'] },
    );
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const { lines, mounts } = split(r.stdout);
  t.same(lines, ['tmpfs-dir', 'file content', 'in-dir']);
  for (const p of ['/new/deep/dir', '/etc/new-file', '/x/y/z']) t.ok(mountAt(mounts, p), `${p} is a mount point`);
  t.ok(existsSync(join(b.rootfs, 'new/deep/dir')), "the directory was made in the bundle's rootfs");
  t.ok(existsSync(join(b.rootfs, 'etc/new-file')), "the file was made in the bundle's rootfs");
});

t.test('a symlink in the image pointing outside never sends a mount to the host path', async (t) => {
  const root = stateRoot(t);
  for (const [name, relative, precreate] of [
    ['absolute link, target created by the runtime', false, false],
    ['absolute link, target present in the rootfs', false, true],
    ['relative link climbing above /', true, false],
  ] as const) {
    t.test(name, async (t) => {
      let src = '';
      let hostTarget = '';
      const b = makeBundle(t, WITH_MOUNTINFO('echo proof > /evil/proof && echo written'), (s, b) => {
        hostTarget = b.hostDir('host-target');
        writeFileSync(join(hostTarget, 'untouched'), 'host\n');
        src = b.hostDir('bind-src');
        // The link names the host directory; inside the rootfs it must resolve to <rootfs><target>.
        const target = relative ? `../../../../../../..${hostTarget}` : hostTarget;
        symlinkSync(target, join(b.rootfs, 'evil'));
        if (precreate) mkdirSync(join(b.rootfs, hostTarget), { recursive: true });
        s.mounts!.push({ destination: '/evil', type: 'bind', source: src, options: ['rbind', 'rw'] });
      });
      const r = root.run(b);
      t.equal(r.code, 0, describe(r));
      const { lines, mounts } = split(r.stdout);
      t.same(lines, ['written']);
      t.same(readdirSync(hostTarget), ['untouched'], 'the host directory is untouched');
      t.equal(readFileSync(join(src, 'proof'), 'utf8'), 'proof\n', 'the write went to the bind source');
      t.ok(mountAt(mounts, hostTarget), `the mount landed at ${hostTarget} inside the rootfs`);
      t.ok(existsSync(join(b.rootfs, hostTarget)), "its mount point was made inside the bundle's rootfs");
      t.same(hostMountsNaming(b.dir), [], "no mount in the host's namespace");
    });
  }
});

t.test('root.readonly', async (t) => {
  const root = stateRoot(t);
  const probe = WITH_MOUNTINFO('touch /probe 2>/dev/null && echo writable || echo read-only');
  const ro = root.run(
    makeBundle(t, probe, (s) => {
      s.root!.readonly = true;
    }),
  );
  t.equal(ro.code, 0, describe(ro));
  t.same(split(ro.stdout).lines, ['read-only'], 'readonly: true refuses writes to /');
  t.ok(mountAt(split(ro.stdout).mounts, '/')?.options.includes('ro'), '/ is mounted ro');

  const rwBundle = makeBundle(t, probe, (s) => {
    s.root!.readonly = false;
  });
  const rw = root.run(rwBundle);
  t.equal(rw.code, 0, describe(rw));
  t.same(split(rw.stdout).lines, ['writable'], 'readonly: false allows writes to /');
  t.ok(existsSync(join(rwBundle.rootfs, 'probe')), "the file is in the bundle's rootfs");
});
