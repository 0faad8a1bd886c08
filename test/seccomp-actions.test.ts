// linux.seccomp actions, each observed from inside the container: the errno a syscall fails with,
// the signal that ends the process, the SIGSYS a handler receives, the audit record of LOG.
// `sync` and `mkdir`/`symlink` are the victims: busybox has applets for them and calls none of them
// while starting (static glibc calls uname at start-up, so uname is never a victim).
import t from 'tap';
import { describe, errorLines, leftovers, makeBundle, stateRoot } from './helpers/index.js';
import type { Seccomp, Spec } from '../src/spec/types.js';
import { KILLED_BY_SIGSYS, NR, addProbe, kernelLogOf, lines, needsProbe, valueOf } from './security-helpers.js';

// Many containers, one after another: more than the runner's default timeout on a busy machine.
t.setTimeout(300_000);

const withSeccomp = (seccomp: Seccomp) => (s: Spec) => {
  s.linux!.seccomp = seccomp;
  s.root!.readonly = false;
};
const allowBut = (...syscalls: NonNullable<Seccomp['syscalls']>): Seccomp => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls });

t.test('SCMP_ACT_ERRNO fails the syscall with errnoRet, or EPERM without one', async (t) => {
  const root = stateRoot(t);
  const script = 'mkdir /dev/shm/d; echo "mkdir=$?"; ln -s x /dev/shm/l; echo "ln=$?"';
  const control = root.run(
    makeBundle(t, script, (s) => {
      s.root!.readonly = false;
    }),
  );
  t.equal(control.stdout, 'mkdir=0\nln=0\n', 'without a filter both work (the tmpfs is writable)');

  const r = root.run(
    makeBundle(
      t,
      script,
      withSeccomp(
        allowBut(
          { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 28 },
          { names: ['symlink', 'symlinkat'], action: 'SCMP_ACT_ERRNO' },
        ),
      ),
    ),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, 'mkdir=1\nln=1\n');
  t.match(r.stderr, /mkdir: can't create directory '\/dev\/shm\/d': No space left on device/, 'errnoRet 28 is ENOSPC');
  t.match(r.stderr, /ln: .*Operation not permitted/, 'the default errno is EPERM');
});

for (const action of ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_KILL_PROCESS'] as const) {
  t.test(`${action} ends the process with SIGSYS`, async (t) => {
    const root = stateRoot(t);
    const seccomp = allowBut({ names: ['sync'], action });
    const inShell = root.run(makeBundle(t, 'echo before; sync; echo "status=$?"', withSeccomp(seccomp)));
    t.equal(inShell.code, 0, describe(inShell));
    t.equal(inShell.stdout, `before\nstatus=${KILLED_BY_SIGSYS}\n`, 'the shell saw its child die of signal 31');
    t.match(inShell.stderr, /Bad system call/);

    const asInit = root.run(makeBundle(t, ['sync'], withSeccomp(seccomp)));
    t.equal(asInit.code, KILLED_BY_SIGSYS, `runt run reports 128+SIGSYS for the init: ${describe(asInit)}`);
    t.same(leftovers(root.path, asInit.id), [], 'nothing left behind');
  });
}

t.test('SCMP_ACT_TRAP delivers SIGSYS to a handler, with the syscall number', { skip: needsProbe() }, async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, `/probe trap ${NR.sync}; echo "status=$?"`, (s, b) => {
      withSeccomp(allowBut({ names: ['sync'], action: 'SCMP_ACT_TRAP' }))(s);
      addProbe(b);
    }),
  );
  t.equal(r.code, 0, describe(r));
  const out = lines(r.stdout);
  // si_code 1 is SYS_SECCOMP: the signal came from the filter, not from kill().
  t.equal(out[0], `sigsys code=1 syscall=${NR.sync}`, 'the handler ran');
  t.equal(valueOf(r.stdout, 'status'), '0', 'and the process lived on');
});

t.test('SCMP_ACT_TRACE without a tracer fails the syscall with ENOSYS', { skip: needsProbe() }, async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, `/probe syscall ${NR.sync}`, (s, b) => {
      withSeccomp(allowBut({ names: ['sync'], action: 'SCMP_ACT_TRACE', errnoRet: 5 }))(s);
      addProbe(b);
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, 'err ENOSYS\n');
});

t.test('SCMP_ACT_LOG allows the syscall and writes an audit record', { skip: needsProbe() }, async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, `/probe syscall ${NR.sync}`, (s, b) => {
    withSeccomp(allowBut({ names: ['sync'], action: 'SCMP_ACT_LOG' }))(s);
    addProbe(b);
  });
  // code=0x7ffc0000 is SECCOMP_RET_LOG.
  const records = await kernelLogOf(
    () => {
      const r = root.run(b);
      t.equal(r.code, 0, describe(r));
      t.equal(r.stdout, 'ok 0\n', 'sync ran');
    },
    (l) => l.includes('type=1326') && l.includes('comm="probe"') && l.includes(`syscall=${NR.sync}`) && l.includes('code=0x7ffc0000'),
  );
  if (records === null) return t.comment('/dev/kmsg is not readable: the audit record cannot be checked');
  t.ok(records.length > 0, `audit record: ${records.join(' | ')}`);
});

t.test('SCMP_ACT_ALLOW as the default lets everything else through', async (t) => {
  const root = stateRoot(t);
  const r = root.run(makeBundle(t, 'mkdir /dev/shm/d && echo made', withSeccomp(allowBut({ names: ['sync'], action: 'SCMP_ACT_ERRNO' }))));
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, 'made\n');
});

t.test('unknown syscall names are skipped, the known ones still filtered', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(
      t,
      'mkdir /dev/shm/d; echo "mkdir=$?"',
      withSeccomp(
        allowBut({ names: ['no_such_syscall_at_all', 'mkdir', 'mkdirat', 'also_not_a_syscall'], action: 'SCMP_ACT_ERRNO', errnoRet: 28 }),
      ),
    ),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, 'mkdir=1\n');
  t.match(r.stderr, /No space left on device/);
});

t.test('configuration errors are one-line errors and leave nothing behind', async (t) => {
  const root = stateRoot(t);
  const cases: Array<[string, Seccomp, RegExp]> = [
    [
      'unknown action',
      allowBut({ names: ['sync'], action: 'SCMP_ACT_FOO' as 'SCMP_ACT_ERRNO' }),
      /linux\.seccomp\.syscalls\[0\]\.action.*SCMP_ACT_FOO/,
    ],
    ['unknown default action', { defaultAction: 'SCMP_ACT_NOPE' as 'SCMP_ACT_ALLOW' }, /linux\.seccomp\.defaultAction.*SCMP_ACT_NOPE/],
    [
      'errnoRet with a kill action',
      allowBut({ names: ['sync'], action: 'SCMP_ACT_KILL', errnoRet: 1 }),
      /linux\.seccomp\.syscalls\[0\]\.errnoRet/,
    ],
    ['unknown architecture', { defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_VAX'] }, /linux\.seccomp\.architectures\[0\]/],
    [
      'unknown operator',
      allowBut({ names: ['sync'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_ALMOST' as 'SCMP_CMP_EQ' }] }),
      /args\[0\]\.op/,
    ],
    [
      'argument index 6',
      allowBut({ names: ['sync'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }),
      /args\[0\]\.index/,
    ],
  ];
  for (const [name, seccomp, message] of cases) {
    const r = root.create(makeBundle(t, 'true', withSeccomp(seccomp)));
    t.not(r.code, 0, `${name}: refused`);
    const errs = errorLines(r);
    t.equal(errs.length, 1, `${name}: one line: ${JSON.stringify(r.stderr)}`);
    t.match(errs[0] ?? '', message, name);
    t.same(leftovers(root.path, r.id), [], `${name}: nothing left behind`);
  }
});

t.test('the filter holds for a non-root user without no_new_privs (loaded while still privileged)', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, 'mkdir /dev/shm/d; echo "mkdir=$? uid=$(id -u)"', (s) => {
      withSeccomp(allowBut({ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 28 }))(s);
      s.process!.noNewPrivileges = false;
      s.process!.user = { uid: 1000, gid: 1000 };
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, 'mkdir=1 uid=1000\n');
  t.match(r.stderr, /No space left on device/);
});

t.test('a filter that denies close_range does not let runtime fds through', async (t) => {
  const root = stateRoot(t);
  const r = root.run(makeBundle(t, 'ls /proc/self/fd', withSeccomp(allowBut({ names: ['close_range'], action: 'SCMP_ACT_ERRNO' }))));
  t.equal(r.code, 0, describe(r));
  t.same(
    lines(r.stdout)
      .map(Number)
      .sort((a, b) => a - b),
    [0, 1, 2, 3],
    'stdio and the fd ls reads the directory with',
  );
});
