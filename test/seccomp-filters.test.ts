// Argument filters and architectures of linux.seccomp, observed from inside the container.
import t from 'tap';
import { describe, makeBundle, stateRoot } from './helpers/index.js';
import type { Seccomp, Spec } from '../src/spec/types.js';
import {
  CLONE_NEWIPC,
  CLONE_NEWUTS,
  KILLED_BY_SIGSYS,
  NR,
  addProbe,
  lines,
  needsI386Syscalls,
  needsProbe,
  valueOf,
} from './security-helpers.js';

const PER_LINUX32 = 0x0008;

function withSeccomp(seccomp: Seccomp, more?: (s: Spec) => void) {
  return (s: Spec) => {
    s.linux!.seccomp = seccomp;
    more?.(s);
  };
}
const allowBut = (...syscalls: NonNullable<Seccomp['syscalls']>): Seccomp => ({ defaultAction: 'SCMP_ACT_ALLOW', syscalls });
const withSysAdmin = (s: Spec) => {
  const caps = s.process!.capabilities!;
  for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), 'CAP_SYS_ADMIN'];
};

t.test('SCMP_CMP_EQ: personality is refused for one value only', async (t) => {
  const root = stateRoot(t);
  const script = 'linux32 true; echo "linux32=$?"; linux64 true; echo "linux64=$?"';
  const r = root.run(
    makeBundle(
      t,
      script,
      withSeccomp(
        allowBut({
          names: ['personality'],
          action: 'SCMP_ACT_ERRNO',
          errnoRet: 13,
          args: [{ index: 0, value: PER_LINUX32, op: 'SCMP_CMP_EQ' }],
        }),
      ),
    ),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, 'linux32=1\nlinux64=0\n', 'personality(PER_LINUX32) fails, personality(PER_LINUX) works');
  t.match(r.stderr, /personality\(0x8\): Permission denied/, 'with errnoRet 13 (EACCES)');
});

t.test('SCMP_CMP_MASKED_EQ: unshare is refused when one flag is in the mask', { skip: needsProbe() }, async (t) => {
  const root = stateRoot(t);
  const script =
    `/probe syscall ${NR.unshare} ${CLONE_NEWUTS}; /probe syscall ${NR.unshare} ${CLONE_NEWIPC}; ` +
    `/probe syscall ${NR.unshare} ${CLONE_NEWUTS | CLONE_NEWIPC}`;
  // value is the mask, valueTwo the value the masked argument must equal (libseccomp's order).
  const seccomp = allowBut({
    names: ['unshare'],
    action: 'SCMP_ACT_ERRNO',
    errnoRet: 126,
    args: [{ index: 0, value: CLONE_NEWUTS, valueTwo: CLONE_NEWUTS, op: 'SCMP_CMP_MASKED_EQ' }],
  });
  const r = root.run(
    makeBundle(t, script, (s, b) => {
      withSeccomp(seccomp, withSysAdmin)(s);
      addProbe(b);
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.same(lines(r.stdout), ['err ENOKEY', 'ok 0', 'err ENOKEY'], 'CLONE_NEWUTS (alone or with others) refused, CLONE_NEWIPC allowed');
});

t.test('comparisons on two arguments are ANDed, on one argument ORed', { skip: needsProbe() }, async (t) => {
  const root = stateRoot(t);
  // ptrace(request, pid): refuse request 16 (PTRACE_ATTACH) only for pid 1.
  const attach = 16;
  const script = [`${attach} 1`, `${attach} 99999`, '0x4206 1'].map((a) => `/probe syscall ${NR.ptrace} ${a}`).join('; ');
  const anded = allowBut({
    names: ['ptrace'],
    action: 'SCMP_ACT_ERRNO',
    errnoRet: 126,
    args: [
      { index: 0, value: attach, op: 'SCMP_CMP_EQ' },
      { index: 1, value: 1, op: 'SCMP_CMP_EQ' },
    ],
  });
  const r = root.run(
    makeBundle(t, script, (s, b) => {
      withSeccomp(anded)(s);
      addProbe(b);
    }),
  );
  t.equal(r.code, 0, describe(r));
  const out = lines(r.stdout);
  t.equal(out[0], 'err ENOKEY', 'ATTACH to pid 1: both comparisons hold');
  t.not(out[1], 'err ENOKEY', 'ATTACH to another pid: passes the filter (fails in the kernel instead)');
  t.not(out[2], 'err ENOKEY', 'another request on pid 1: passes the filter');

  // Two comparisons on the same index cannot be ANDed by libseccomp: they become separate rules.
  const ored = allowBut({
    names: ['personality'],
    action: 'SCMP_ACT_ERRNO',
    errnoRet: 126,
    args: [
      { index: 0, value: PER_LINUX32, op: 'SCMP_CMP_EQ' },
      { index: 0, value: 0x0400000, op: 'SCMP_CMP_EQ' },
    ],
  });
  const r2 = root.run(
    makeBundle(
      t,
      `/probe syscall ${NR.personality} 8; /probe syscall ${NR.personality} 0x0400000; /probe syscall ${NR.personality} 0xffffffff`,
      (s, b) => {
        withSeccomp(ored)(s);
        addProbe(b);
      },
    ),
  );
  t.equal(r2.code, 0, describe(r2));
  const out2 = lines(r2.stdout);
  t.equal(out2[0], 'err ENOKEY', 'first value refused');
  t.equal(out2[1], 'err ENOKEY', 'second value refused');
  t.match(out2[2], /^ok /, 'querying the personality passes');
});

t.test('SCMP_CMP_GT / LT on an argument', { skip: needsProbe() }, async (t) => {
  const root = stateRoot(t);
  const seccomp = allowBut({
    names: ['personality'],
    action: 'SCMP_ACT_ERRNO',
    errnoRet: 126,
    args: [{ index: 0, value: 0x10000, op: 'SCMP_CMP_GT' }],
  });
  const script = `/probe syscall ${NR.personality} 0x20000; /probe syscall ${NR.personality} 0`;
  const r = root.run(
    makeBundle(t, script, (s, b) => {
      withSeccomp(seccomp)(s);
      addProbe(b);
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.same(
    lines(r.stdout).map((l) => (l.split(' ')[0] === 'err' ? l : 'ok')),
    ['err ENOKEY', 'ok'],
  );
});

t.test('architectures', { skip: needsProbe() }, async (t) => {
  const root = stateRoot(t);
  const noI386 = needsI386Syscalls();
  // getpid through the i386 ABI (int $0x80) and the x32 ABI (nr | 0x40000000) from a 64-bit process.
  // Each call's output is followed by a `name=$?` line; the i386 call is left out where int $0x80
  // does not work on the host at all.
  const calls: Array<[string, string]> = [
    ['native', `/probe syscall ${NR.getpid}`],
    ['i386', `/probe int80 ${NR.I386_getpid}`],
    ['x32', `/probe x32 ${NR.getpid}`],
  ];
  const script = calls
    .filter(([name]) => !(noI386 && name === 'i386'))
    .map(([name, cmd]) => `${cmd}; echo "${name}=$?"`)
    .join('; ');
  const outputOf = (stdout: string, name: string): string | undefined => {
    const all = lines(stdout);
    const at = all.findIndex((l) => l.startsWith(`${name}=`));
    return at > 0 && !all[at - 1].includes('=') ? all[at - 1] : undefined;
  };
  const denyGetpid = (architectures?: string[]): Seccomp => ({
    defaultAction: 'SCMP_ACT_ALLOW',
    ...(architectures ? { architectures } : {}),
    syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ERRNO', errnoRet: 126 }],
  });

  t.test('without a list, only the native one: another ABI is killed', async (t) => {
    const r = root.run(
      makeBundle(t, script, (s, b) => {
        withSeccomp(denyGetpid())(s);
        addProbe(b);
      }),
    );
    t.equal(r.code, 0, describe(r));
    t.equal(outputOf(r.stdout, 'native'), 'err ENOKEY', 'the rule applies to x86-64');
    t.equal(valueOf(r.stdout, 'i386'), String(KILLED_BY_SIGSYS), 'an i386 syscall is a bad architecture: killed', { skip: noI386 });
    t.equal(valueOf(r.stdout, 'x32'), String(KILLED_BY_SIGSYS), 'an x32 syscall too');
  });

  t.test('listed architectures get the same rules', async (t) => {
    const r = root.run(
      makeBundle(t, script, (s, b) => {
        withSeccomp(denyGetpid(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']))(s);
        addProbe(b);
      }),
    );
    t.equal(r.code, 0, describe(r));
    t.equal(outputOf(r.stdout, 'native'), 'err ENOKEY', 'x86-64 getpid refused');
    t.equal(outputOf(r.stdout, 'i386'), 'err ENOKEY', 'i386 getpid refused by the same rule', { skip: noI386 });
    t.equal(valueOf(r.stdout, 'i386'), '0', 'and not killed', { skip: noI386 });
    // This kernel has no x32 ABI: the filter lets the call through, the kernel answers ENOSYS.
    t.match(outputOf(r.stdout, 'x32'), /^err (ENOKEY|ENOSYS)$/, 'an x32 syscall reaches its rules (and the kernel)');
    t.equal(valueOf(r.stdout, 'x32'), '0', 'and is not killed');
  });

  t.test('i386 listed: its syscalls pass unless a rule says otherwise', { skip: noI386 }, async (t) => {
    const r = root.run(
      makeBundle(t, `/probe int80 ${NR.I386_getpid}`, (s, b) => {
        withSeccomp({
          defaultAction: 'SCMP_ACT_ALLOW',
          architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
          syscalls: [{ names: ['sync'], action: 'SCMP_ACT_ERRNO' }],
        })(s);
        addProbe(b);
      }),
    );
    t.equal(r.code, 0, describe(r));
    t.match(r.stdout, /^ok \d+\n$/, 'i386 getpid works');
  });
});
