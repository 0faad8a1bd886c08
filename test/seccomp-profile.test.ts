// examples/seccomp/default.json, the allowlist profile in the spirit of the engines' defaults:
// ordinary work passes, the syscalls that widen the kernel's attack surface or leave the container's
// namespaces are refused, even for a process holding CAP_SYS_ADMIN.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, describe, makeBundle, parseStatus, stateRoot } from './helpers/index.js';
import type { Seccomp, Spec } from '../src/spec/types.js';
import { CLONE_NEWUTS, NR, addProbe, lines, needsProbe, valueOf } from './security-helpers.js';

const profile = (): Seccomp => JSON.parse(readFileSync(join(REPO, 'examples/seccomp/default.json'), 'utf8')) as Seccomp;
const withSysAdmin = (s: Spec) => {
  const caps = s.process!.capabilities!;
  for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), 'CAP_SYS_ADMIN'];
};

const WORK = [
  'echo hello > /tmp/f && cat /tmp/f',
  'mkdir -p /tmp/d/e && ln -s /tmp/f /tmp/d/l && mv /tmp/d/l /tmp/d/m && rm -r /tmp/d',
  'seq 1 200 | sort -rn | head -1',
  '(sleep 0.01 &) ; wait',
  'x=$(date +%Y); test -n "$x"',
  'id -u',
  'chmod 600 /tmp/f && stat -c %a /tmp/f',
  'grep -c Seccomp_filters /proc/self/status',
].join(' && ');

t.test('ordinary work passes, with and without no_new_privs', async (t) => {
  const root = stateRoot(t);
  for (const nnp of [true, false]) {
    const r = root.run(
      makeBundle(t, `${WORK}; echo "status=$?"; grep Seccomp: /proc/self/status`, (s) => {
        s.linux!.seccomp = profile();
        s.process!.noNewPrivileges = nnp;
        s.root!.readonly = false;
      }),
    );
    t.equal(r.code, 0, describe(r));
    t.equal(valueOf(r.stdout, 'status'), '0', `no_new_privs ${nnp}: every command worked: ${JSON.stringify(r.stdout)} ${r.stderr}`);
    t.match(r.stdout, /^hello\n200\n0\n600\n1\n/, 'with the expected output');
    t.equal(parseStatus(r.stdout).Seccomp, '2', 'in seccomp filter mode');
  }
});

t.test(
  'namespace, mount, keyring, tracing and kernel-extension syscalls are refused even with CAP_SYS_ADMIN',
  { skip: needsProbe() },
  async (t) => {
    const root = stateRoot(t);
    const attempts: Array<[string, string]> = [
      ['unshare(CLONE_NEWUTS)', `${NR.unshare} ${CLONE_NEWUTS}`],
      ['mount', '165 0 0 0 0 0'],
      ['keyctl', '250 0 0'],
      ['add_key', '248 0 0 0 0 0'],
      ['ptrace(PTRACE_ATTACH, 1)', `${NR.ptrace} 16 1`],
      ['bpf', '321 0 0 0'],
      ['perf_event_open', '298 0 0 0 0 0'],
      ['userfaultfd', '323 0'],
      ['clone(CLONE_NEWUSER)', '56 0x10000011 0 0 0 0'],
      ['socket(AF_VSOCK)', '41 40 1 0'],
      ['personality(0x0400000)', `${NR.personality} 0x0400000`],
    ];
    const script = attempts.map(([, args]) => `/probe syscall ${args}`).join('; ');
    const r = root.run(
      makeBundle(t, script, (s, b) => {
        s.linux!.seccomp = profile();
        withSysAdmin(s);
        addProbe(b);
      }),
    );
    t.equal(r.code, 0, describe(r));
    const out = lines(r.stdout);
    attempts.forEach(([name], i) => t.equal(out[i], 'err EPERM', name));
    t.equal(out.length, attempts.length, 'no clone happened');

    // The control: the same process without the profile may unshare and open an AF_INET socket.
    const control = root.run(
      makeBundle(t, `/probe syscall ${NR.unshare} ${CLONE_NEWUTS}; /probe syscall 41 2 1 0`, (s, b) => {
        withSysAdmin(s);
        addProbe(b);
      }),
    );
    t.same(
      lines(control.stdout).map((l) => l.split(' ')[0]),
      ['ok', 'ok'],
      'without the profile the unshare works: the filter is what refused it',
    );
  },
);

t.test('clone3 answers ENOSYS (so libc falls back to clone), plain clone and AF_INET sockets work', { skip: needsProbe() }, async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, '/probe syscall 435 0 0; /probe syscall 41 2 1 0; (true) && echo forked', (s, b) => {
      s.linux!.seccomp = profile();
      addProbe(b);
    }),
  );
  t.equal(r.code, 0, describe(r));
  const out = lines(r.stdout);
  t.equal(out[0], 'err ENOSYS');
  t.match(out[1], /^ok \d+$/);
  t.equal(out[2], 'forked');
});

t.test('defaultErrnoRet is the errno of everything not listed', async (t) => {
  const root = stateRoot(t);
  const r = root.run(
    makeBundle(t, 'unshare -u true; echo "unshare=$?"', (s) => {
      s.linux!.seccomp = { ...profile(), defaultErrnoRet: 18 };
      withSysAdmin(s);
    }),
  );
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, 'unshare=1\n');
  t.match(r.stderr, /Invalid cross-device link/, 'EXDEV (18), not the EPERM of the profile');
});

t.test('a startContainer hook still runs when the filter is loaded early (clone3 refused, clone used)', async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, 'cat /tmp/hook-ran', (s) => {
    s.linux!.seccomp = profile();
    s.process!.noNewPrivileges = false;
    s.root!.readonly = false;
    // startContainer hooks run inside the container, after the filter is in place.
    s.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'echo from-hook > /tmp/hook-ran'] }] };
  });
  const r = root.run(b);
  t.equal(r.code, 0, describe(r));
  t.equal(r.stdout, 'from-hook\n');
});
