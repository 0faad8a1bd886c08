// Seccomp constrains the container's process, never runt-init: once the filter is loaded, runt-init
// makes no system call but the final execve (and, without noNewPrivileges and without CAP_SYS_ADMIN
// in the process's effective set, one capset that drops the CAP_SYS_ADMIN the load needed).
// The profiles here kill the process on any syscall they do not list (SCMP_ACT_KILL_PROCESS): a
// single stray syscall of the runtime after the load would end the container with SIGSYS.
import t from 'tap';
import { describe, errorLines, makeBundle, stateRoot } from './helpers/index.js';
import { explainJson } from './explain-fixtures.js';
import type { Seccomp, Spec } from '../src/spec/types.js';

t.setTimeout(180_000);

// What busybox's static `true` calls from execve to exit_group (strace of examples/busybox/rootfs/bin/true).
const TRUE_NEEDS = [
  'execve',
  'arch_prctl',
  'brk',
  'getrandom',
  'getuid',
  'mprotect',
  'prctl',
  'prlimit64',
  'readlink',
  'rseq',
  'set_robust_list',
  'set_tid_address',
  'exit_group',
  'exit',
];
const only = (names: string[], defaultAction: Seccomp['defaultAction'] = 'SCMP_ACT_KILL_PROCESS'): Seccomp => ({
  defaultAction,
  architectures: ['SCMP_ARCH_X86_64'],
  syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }],
});
const RUNTIME_TOOLS_CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

function withProfile(seccomp: Seccomp, opts: { nnp: boolean; caps?: string[] }) {
  return (s: Spec) => {
    s.linux!.seccomp = seccomp;
    s.process!.noNewPrivileges = opts.nnp;
    if (!opts.nnp) delete s.process!.noNewPrivileges;
    if (opts.caps) {
      const c = s.process!.capabilities!;
      c.bounding = [...opts.caps];
      c.effective = [...opts.caps];
      c.permitted = [...opts.caps];
      c.inheritable = [];
      c.ambient = [];
    }
  };
}

t.test('noNewPrivileges: a profile with only what /bin/true needs runs /bin/true', async (t) => {
  const root = stateRoot(t);
  const r = root.run(makeBundle(t, ['/bin/true'], withProfile(only(TRUE_NEEDS), { nnp: true })));
  t.equal(r.code, 0, describe(r));
  t.same(errorLines(r), [], 'no error');
});

t.test('the same profile minus execve: the exec itself is refused (the filter is really in force)', async (t) => {
  const root = stateRoot(t);
  const r = root.run(makeBundle(t, ['/bin/true'], withProfile(only(TRUE_NEEDS.filter((n) => n !== 'execve')), { nnp: true })));
  t.not(r.code, 0, `the container did not run: ${describe(r)}`);
});

t.test('no noNewPrivileges, CAP_SYS_ADMIN kept: the same profile runs (the filter loads with the capability)', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, ['/bin/true'], withProfile(only(TRUE_NEEDS), { nnp: false, caps: ['CAP_SYS_ADMIN', ...RUNTIME_TOOLS_CAPS] })),
  );
  t.equal(r.code, 0, describe(r));
});

t.test('no noNewPrivileges, no CAP_SYS_ADMIN: that profile plus capset runs, and the capability is gone', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['/bin/true'], withProfile(only([...TRUE_NEEDS, 'capset']), { nnp: false, caps: RUNTIME_TOOLS_CAPS }));
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  const plan = explainJson(root, b, root.id('order'));
  const ops = plan.steps.map((s) => s.op);
  t.same(ops.slice(-4), ['prepareFds', 'seccomp', 'capset', 'exec'], 'after the filter: one capset, then execve');
  const last = plan.steps.at(-2)!.args as { effective: string[] };
  t.notOk(last.effective.includes('CAP_SYS_ADMIN'), 'the last capset drops CAP_SYS_ADMIN');

  const shown = root.run(
    makeBundle(
      t,
      'grep CapEff /proc/self/status',
      withProfile({ defaultAction: 'SCMP_ACT_ALLOW' }, { nnp: false, caps: RUNTIME_TOOLS_CAPS }),
    ),
  );
  t.equal(shown.code, 0, describe(shown));
  // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29): 0x20000420; CAP_SYS_ADMIN (21) is not among them.
  t.match(shown.stdout, /CapEff:\s+0000000020000420/, 'the process has exactly the configured effective set');
});

t.test('a runtime-tools style profile (SCMP_ACT_ERRNO by default, no openat2 or close_range, noNewPrivileges unset) runs', async (t) => {
  const root = stateRoot(t);
  // The syscalls a busybox shell and its applets use, but none that runt-init uses for its own steps
  // and that such profiles leave out (openat2, close_range, faccessat2, pidfd_*, clone3).
  const shell = [
    ...TRUE_NEEDS,
    'capset',
    'read',
    'write',
    'openat',
    'open',
    'close',
    'fstat',
    'newfstatat',
    'stat',
    'lstat',
    'getdents64',
    'ioctl',
    'getpid',
    'getppid',
    'rt_sigaction',
    'rt_sigprocmask',
    'rt_sigreturn',
    'fcntl',
    'dup2',
    'dup3',
    'wait4',
    'clone',
    'fork',
    'vfork',
    'getcwd',
    'chdir',
    'uname',
    'lseek',
    'geteuid',
    'getgid',
    'getegid',
    'munmap',
    'mmap',
    'sysinfo',
    'access',
    'faccessat',
    'pipe',
    'pipe2',
    'kill',
    'setpgid',
    'getpgid',
    'getpgrp',
    'sched_getaffinity',
  ];
  const r = root.run(
    makeBundle(
      t,
      'echo inside; cat /proc/self/status | grep -c NoNewPrivs',
      withProfile(only(shell, 'SCMP_ACT_ERRNO'), { nnp: false, caps: RUNTIME_TOOLS_CAPS }),
    ),
  );
  t.equal(r.code, 0, describe(r));
  t.match(r.stdout, /^inside\n/, 'the shell ran under the profile');
});
