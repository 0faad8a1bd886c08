// 10 — a seccomp filter: the kernel answers some system calls itself, before they run.
//
//   npm run build:ts && node dist/examples/10-seccomp.js [--no-filter]
//
// The filter is an OCI linux.seccomp object, compiled to BPF by the addon (libseccomp), as create does:
//   default SCMP_ACT_ALLOW; mkdir, mkdirat → SCMP_ACT_ERRNO(EPERM); sync → SCMP_ACT_KILL_PROCESS
// Steps: prctl(PR_SET_NO_NEW_PRIVS, 1) → seccomp(SECCOMP_SET_MODE_FILTER, 0, prog) → exec a shell.
// no_new_privs comes first: without it only a process with CAP_SYS_ADMIN may load a filter (so a
// setuid program can never run under a filter its caller chose). The filter is inherited by every
// child and cannot be removed.
// --no-filter: the same steps without the seccomp step.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Seccomp } from '../src/index.js';
import { native, PR, type Step } from '../src/building-blocks.js';
import { runSteps } from './lib/run-steps.js';
import { flag, heading, indent, shell, show } from './lib/show.js';

const filtered = !flag('no-filter');
const policy: Seccomp = {
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [
    { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
    { names: ['sync'], action: 'SCMP_ACT_KILL_PROCESS' },
  ],
};
const filter = native().compileSeccomp(policy);
const dir = mkdtempSync(join(tmpdir(), 'runt-example-10-'));

try {
  heading(filtered ? `a child under a seccomp filter (${filter.length / 8} BPF instructions)` : 'a child without a filter');
  const steps: Step[] = [
    { op: 'prctl', option: PR.SET_NO_NEW_PRIVS, arg2: 1, field: 'process.noNewPrivileges' },
    ...(filtered ? [{ op: 'seccomp', filter, flags: 0, field: 'linux.seccomp' } as Step] : []),
    shell(`busybox grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status;
      busybox mkdir ${dir}/made 2>&1 && echo "mkdir: done";
      busybox sync; echo "sync exit status: $?"`),
  ];
  const r = await runSteps({ steps, capture: true });
  console.log(indent(r.output));
  if (filtered) {
    show('mkdir', 'failed with the errno the filter chose (EPERM), the file system was never asked');
    show('sync', 'status 159 = 128 + 31: killed by SIGSYS before the call ran');
    console.log('\n  "Seccomp: 2" is filter mode. runt loads the filter as late as it can: after the capabilities and,');
    console.log('  with no_new_privs, just before exec, so that its own setup calls are not subject to it.');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
