// maskedPaths and readonlyPaths: they hold for a directory, a file and a missing path, cannot be
// undone without CAP_SYS_ADMIN, and land on the real procfs (a /proc that is not procfs any more,
// as a racing process could leave it, is refused: CVE-2019-19921, CVE-2019-16884).
import t from 'tap';
import { mkdirSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, errorLines, leftovers, makeBundle, stateRoot } from './helpers/index.js';
import type { Spec } from '../src/spec/types.js';
import { native } from '../src/native.js';
import { MSG, type SpawnConfig } from '../src/plan/steps.js';
import { CLONE, FS_MAGIC, MS } from '../src/plan/constants.js';
import { reap } from '../src/lifecycle/spawn.js';
import { lines, valueOf } from './security-helpers.js';

const withSysAdmin = (s: Spec) => {
  const caps = s.process!.capabilities!;
  for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), 'CAP_SYS_ADMIN'];
};

// /proc/tty (a directory with entries) and /proc/timer_list (a readable file) stand in for what the
// default masks hide; /proc/no-such-entry is missing.
const MASKED = ['/proc/tty', '/proc/timer_list', '/proc/no-such-entry'];
const LOOK =
  'echo "dir=$(ls -A /proc/tty | wc -l) file=$(wc -c < /proc/timer_list)"; touch /proc/tty/x 2>&1; ls /proc/no-such-entry 2>&1; true';

t.test('maskedPaths hide a directory and a file; a missing path is skipped', async (t) => {
  const root = stateRoot(t);
  const control = root.run(
    makeBundle(t, LOOK, (s) => {
      s.linux!.maskedPaths = [];
    }),
  );
  t.equal(control.code, 0, describe(control));
  t.not(valueOf(control.stdout, 'dir'), '0', 'unmasked, /proc/tty has entries');
  t.not(valueOf(control.stdout, 'file'), '0', 'unmasked, /proc/timer_list has content');

  const r = root.run(
    makeBundle(t, LOOK, (s) => {
      s.linux!.maskedPaths = MASKED;
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(valueOf(r.stdout, 'dir'), '0', 'the directory is an empty tmpfs');
  t.equal(valueOf(r.stdout, 'file'), '0', 'the file reads as /dev/null');
  t.match(r.stdout, /touch: \/proc\/tty\/x: Read-only file system/, 'and the directory is read-only');
  t.match(r.stdout, /no-such-entry: No such file or directory/, 'the missing path stays missing');
});

t.test('masks cannot be undone without CAP_SYS_ADMIN', async (t) => {
  const root = stateRoot(t);
  const undo =
    'umount /proc/timer_list 2>&1; echo "file=$(wc -c < /proc/timer_list)"; umount /proc/tty 2>&1; mount -o remount,rw /proc/tty 2>&1; echo "dir=$(ls -A /proc/tty | wc -l)"';
  const r = root.run(
    makeBundle(t, undo, (s) => {
      s.linux!.maskedPaths = MASKED;
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.match(r.stdout, /umount: can't unmount \/proc\/timer_list: Operation not permitted/);
  t.match(r.stdout, /umount: can't unmount \/proc\/tty: Operation not permitted/);
  t.match(r.stdout, /mount: .*Operation not permitted|permission denied/i, 'no remount read-write either');
  t.equal(valueOf(r.stdout, 'file'), '0', 'still masked');
  t.equal(valueOf(r.stdout, 'dir'), '0', 'still masked');

  // The control: with CAP_SYS_ADMIN the same commands do unmask, so the capability is the boundary.
  const admin = root.run(
    makeBundle(t, undo, (s) => {
      s.linux!.maskedPaths = MASKED;
      withSysAdmin(s);
    }),
  );
  t.equal(admin.code, 0, describe(admin));
  t.not(valueOf(admin.stdout, 'file'), '0', 'with CAP_SYS_ADMIN the file mask comes off');
  t.not(valueOf(admin.stdout, 'dir'), '0', 'and the directory mask');
});

t.test('readonlyPaths hold for a directory and a file; a missing path is skipped', async (t) => {
  const root = stateRoot(t);
  const write = (path: string, value: string) => `echo ${value} > ${path} 2>/dev/null && echo "${path}=written" || echo "${path}=refused"`;
  const script = [
    write('/proc/sys/kernel/shmmax', '33554432'), // the read-only file
    write('/proc/sys/kernel/shmmni', '4096'), // its neighbour: writable (the control)
    write('/proc/sys/fs/mqueue/msg_max', '20'), // in the read-only directory
    write('/proc/sys/kernel/msgmax', '8192'), // outside it: writable (the control)
    'umount /proc/sys/fs/mqueue 2>&1 | head -1',
  ].join('; ');
  const r = root.run(
    makeBundle(t, script, (s) => {
      s.linux!.readonlyPaths = ['/proc/sys/kernel/shmmax', '/proc/sys/fs/mqueue', '/proc/no-such-entry'];
    }),
  );
  t.equal(r.code, 0, describe(r));
  const out = lines(r.stdout);
  t.equal(out[0], '/proc/sys/kernel/shmmax=refused', 'read-only file');
  t.equal(out[1], '/proc/sys/kernel/shmmni=written', 'its neighbour is writable: the file alone is read-only');
  t.equal(out[2], '/proc/sys/fs/mqueue/msg_max=refused', 'file in a read-only directory');
  t.equal(out[3], '/proc/sys/kernel/msgmax=written', 'outside the directory: writable');
  t.match(out[4], /Operation not permitted/, 'and it cannot be unmounted');
});

t.test('a mask or read-only path under /proc that is not on procfs is refused', async (t) => {
  const root = stateRoot(t);
  // What a racing process could leave behind: /proc replaced by an ordinary directory holding
  // harmless look-alikes. A config cannot play that part any more: binds on /proc that are not
  // procfs, and anything inside /proc, are refused before anything is made (runc's rule, see
  // test/security-attacks.test.ts). The executor's own check is tested below, without a config.
  const masked = root.run(
    makeBundle(t, 'true', (s, b) => {
      const dir = b.hostDir('fake-proc');
      writeFileSync(join(dir, 'timer_list'), 'fake');
      s.mounts!.splice(1, 0, { destination: '/proc', type: 'bind', source: dir, options: ['rbind', 'ro'] });
      s.linux!.maskedPaths = ['/proc/timer_list'];
      s.linux!.readonlyPaths = [];
    }),
  );
  t.not(masked.code, 0, 'a fake /proc: refused');
  t.same(errorLines(masked), ['mounts[1].source: a bind on /proc must come from a procfs']);
  t.same(leftovers(root.path, masked.id), []);

  const readonly = root.run(
    makeBundle(t, 'true', (s, b) => {
      const dir = b.hostDir('fake-sys');
      s.mounts!.splice(1, 0, { destination: '/proc/sys', type: 'bind', source: dir, options: ['rbind'] });
      s.linux!.maskedPaths = [];
      s.linux!.readonlyPaths = ['/proc/sys'];
    }),
  );
  t.not(readonly.code, 0, 'a fake /proc/sys: refused');
  t.match(errorLines(readonly).join('\n'), /^mounts\[1\]\.destination: nothing may be mounted inside \/proc \(\/proc\/sys\)/);

  // The control: the same paths on the real procfs are fine.
  const real = root.run(
    makeBundle(t, 'true', (s) => {
      s.linux!.maskedPaths = ['/proc/timer_list'];
      s.linux!.readonlyPaths = ['/proc/sys'];
    }),
  );
  t.equal(real.code, 0, describe(real));
});

t.test('a proc mount that does not end up where its target is fails', async (t) => {
  const root = stateRoot(t);
  // /d/link points at /d: the proc mount lands on /d, and /d/link no longer exists in it.
  const r = root.run(
    makeBundle(t, 'true', (s, b) => {
      mkdirSync(join(b.rootfs, 'd'));
      symlinkSync('/d', join(b.rootfs, 'd/link'));
      s.mounts!.push({ destination: '/d/link', type: 'proc', source: 'proc' });
    }),
  );
  t.not(r.code, 0);
  t.match(errorLines(r).join('\n'), /^mounts\[\d+\]: mount proc on \/d\/link: statfs: ENOENT$/);
});

t.test("the executor's filesystem check itself: a tmpfs where procfs is expected is EXDEV", async (t) => {
  const n = native();
  const dir = `/tmp/runt-sec-expectfs-${process.pid}`;
  mkdirSync(dir, { recursive: true });
  t.teardown(() => rmdirSync(dir));
  const cfg: SpawnConfig = {
    cloneFlags: CLONE.NEWNS,
    stdio: [-1, -1, -1],
    preserveFds: 0,
    trace: false,
    pdeathSig: 9,
    steps: [
      {
        op: 'mount',
        source: null,
        target: '/',
        fstype: null,
        flags: MS.SLAVE | MS.REC,
        data: null,
        targetInRoot: false,
        mkdir: 'none',
        field: 'private mounts',
      },
      {
        op: 'mount',
        source: 'tmpfs',
        target: dir,
        fstype: 'tmpfs',
        flags: 0,
        data: null,
        targetInRoot: false,
        mkdir: 'none',
        expectFs: FS_MAGIC.PROC,
        field: 'the check',
      },
    ],
  };
  const child = n.spawn(cfg);
  let error: { step: number; errno: number; text: string } | undefined;
  for (;;) {
    const m = n.recv(child.sock);
    if (!m) {
      await n.whenReadable(child.sock);
      continue;
    }
    if (m.type === MSG.ERROR) error = m;
    if (m.type === 0) break;
  }
  n.close(child.sock);
  await reap(child.pidfd);
  t.equal(error?.step, 1, 'the mount step failed');
  t.equal(error?.errno, 18, 'with EXDEV');
  t.match(error?.text ?? '', /unexpected filesystem type/);
});
