// tmpcopyup (runc/crun/podman): a tmpfs mounted over a directory of the image starts with a copy of
// that directory — files, directories, symlinks and fifos with their modes, owners and times — and
// the copy never follows a symlink of the image, so nothing outside the rootfs is read.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, errorLines, makeBundle, mountAt, parseMountinfo, stateRoot } from './helpers/index.js';

const WITH_MOUNTINFO = (script: string) => `${script}; echo ---; cat /proc/self/mountinfo`;
function split(stdout: string) {
  const [before, after = ''] = stdout.split('---\n');
  return { lines: before.trim().split('\n'), mounts: parseMountinfo(after) };
}

/** An image directory /data with one of each kind of entry. */
function fillData(rootfs: string): void {
  const data = join(rootfs, 'data');
  mkdirSync(join(data, 'sub/deep'), { recursive: true });
  writeFileSync(join(data, 'a.txt'), 'hello\n');
  chownSync(join(data, 'a.txt'), 1000, 1001);
  chmodSync(join(data, 'a.txt'), 0o640);
  utimesSync(join(data, 'a.txt'), 1_000_000, 1_000_000);
  chmodSync(join(data, 'sub'), 0o2751);
  chownSync(join(data, 'sub'), 7, 8);
  // Larger than any single buffer the copy uses.
  writeFileSync(join(data, 'sub/deep/big'), Buffer.alloc(300_000, 'x'));
  chmodSync(join(data, 'sub/deep/big'), 0o4755);
  utimesSync(join(data, 'sub/deep/big'), 2_000_000, 2_000_000);
  symlinkSync('/etc/passwd', join(data, 'abs-link'));
  symlinkSync('../../../../../../../etc', join(data, 'sub/escape'));
  execFileSync('mkfifo', ['-m', '0620', join(data, 'fifo')]);
}

t.test('the tmpfs starts with a copy of the directory it covers', async (t) => {
  const root = stateRoot(t);
  const script = [
    'cd /data',
    'stat -c "%n %a %u:%g %F %s %Y" a.txt sub sub/deep sub/deep/big fifo',
    'readlink abs-link; readlink sub/escape',
    'cat a.txt',
    'ls sub/escape/ | grep -c . ',
    'touch /data/new && echo writable',
  ].join('; ');
  const b = makeBundle(t, WITH_MOUNTINFO(script), (s, bundle) => {
    fillData(bundle.rootfs);
    s.process!.capabilities!.effective = ['CAP_DAC_OVERRIDE'];
    s.process!.capabilities!.bounding = ['CAP_DAC_OVERRIDE'];
    s.process!.capabilities!.permitted = ['CAP_DAC_OVERRIDE'];
    s.mounts!.push({
      destination: '/data',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'nodev', 'tmpcopyup', 'mode=755', 'size=4m'],
    });
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const { lines, mounts } = split(r.stdout);
  t.same(
    lines.slice(0, 5),
    [
      'a.txt 640 1000:1001 regular file 6 1000000',
      `sub 2751 7:8 directory ${lines[1]?.split(' ')[4]} ${lines[1]?.split(' ')[5]}`,
      `sub/deep 755 0:0 directory ${lines[2]?.split(' ')[4]} ${lines[2]?.split(' ')[5]}`,
      'sub/deep/big 4755 0:0 regular file 300000 2000000',
      `fifo 620 0:0 fifo 0 ${lines[4]?.split(' ')[5]}`,
    ],
    'modes, owners, kinds, sizes and times copied',
  );
  t.same(lines.slice(5, 7), ['/etc/passwd', '../../../../../../../etc'], 'symlinks copied as symlinks');
  t.equal(lines[7], 'hello', 'file contents copied');
  t.ok(Number(lines[8]) > 0, 'the escaping link resolves inside the container (to its own /etc)');
  t.equal(lines[9], 'writable');
  const m = mountAt(mounts, '/data');
  t.equal(m?.fstype, 'tmpfs', '/data is a tmpfs');
  t.ok(m?.options.includes('nosuid') && m.options.includes('nodev') && m.options.includes('rw'), `options kept (${m?.options.join(',')})`);
  t.ok(m?.superOptions.includes('size=4096k'), `size kept (${m?.superOptions.join(',')})`);
  t.notOk(readdirSync(join(b.rootfs, 'data')).includes('new'), 'writes stay in the tmpfs, not the image');
});

t.test('ro tmpcopyup: filled first, then read-only', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, WITH_MOUNTINFO('cat /data/a.txt; touch /data/x 2>/dev/null && echo writable || echo read-only'), (s, bundle) => {
    fillData(bundle.rootfs);
    s.mounts!.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'tmpcopyup'] });
    s.process!.user = { uid: 1000, gid: 1001 };
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const { lines, mounts } = split(r.stdout);
  t.same(lines, ['hello', 'read-only']);
  t.ok(mountAt(mounts, '/data')?.options.includes('ro'), '/data is mounted ro');
});

t.test('notmpcopyup after tmpcopyup: an empty tmpfs; tmpcopyup on a missing directory: an empty tmpfs', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'ls -A /data | wc -l; ls -A /fresh | wc -l', (s, bundle) => {
    fillData(bundle.rootfs);
    s.mounts!.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'notmpcopyup'] });
    s.mounts!.push({ destination: '/fresh', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] });
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  t.same(
    r.stdout
      .trim()
      .split('\n')
      .map((l) => l.trim()),
    ['0', '0'],
  );
});

t.test('a destination that is a symlink out of the rootfs copies the rootfs directory, not the host one', async (t) => {
  const root = stateRoot(t);
  t.ok(existsSync('/etc/debian_version'), 'the host /etc has a file the image lacks');
  const b = makeBundle(t, 'ls /escape; test -e /escape/debian_version && echo LEAK || echo ok', (s, bundle) => {
    // On the host this link would lead to the host's /etc; resolved in the rootfs it is the image's.
    symlinkSync('/etc', join(bundle.rootfs, 'escape'));
    s.mounts!.push({ destination: '/escape', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup'] });
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const lines = r.stdout.trim().split('\n');
  t.equal(lines.pop(), 'ok', 'nothing of the host /etc');
  t.same(lines.join(' ').split(/\s+/).sort(), readdirSync(join(b.rootfs, 'etc')).sort(), "the image's /etc was copied");
});

t.test('a copy that cannot complete fails the step with one line naming the mount', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true', (s, bundle) => {
    fillData(bundle.rootfs);
    // 300 kB does not fit in 64 kB.
    s.mounts!.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'size=64k'] });
  });
  const r = root.run(b);
  t.equal(r.code, 1, describe(r));
  const lines = errorLines(r);
  t.equal(lines.length, 1, JSON.stringify(r.stderr));
  t.match(lines[0], /^mounts\[7\]: tmpcopyup \/data: copy sub\/deep\/big: ENOSPC/);
  t.same(root.entries(), [], 'no state directory');
});

t.test('explain shows the copy', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'true', (s) => {
    s.mounts!.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['ro', 'tmpcopyup'] });
  });
  const r = root.runt(['explain', '--bundle', b.dir, '--format', 'json']);
  t.equal(r.code, 0, describe(r));
  const steps = (
    JSON.parse(r.stdout) as { steps: Array<{ op: string; field: string; args: Record<string, unknown>; calls: string[] }> }
  ).steps.filter((s) => s.field === 'mounts[7]');
  t.equal(steps.length, 2, 'the mount and the read-only remount');
  t.equal(steps[0].args.copyUp, true);
  t.notOk((steps[0].args.flags as string[]).includes('MS_RDONLY'), 'mounted writable for the copy');
  t.ok((steps[1].args.flags as string[]).includes('MS_RDONLY') && (steps[1].args.flags as string[]).includes('MS_REMOUNT'));
  t.ok(steps[0].calls.some((c) => c.includes('copy lower into upper')));
});
