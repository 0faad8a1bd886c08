// 06 — an IPC namespace: System V IPC objects, POSIX message queues and their limits are per
// namespace.
//
//   npm run build:ts && node dist/examples/06-ipc.js [--no-namespace]
//
// A child in new IPC and mount namespaces:
//   mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)
//   mount("mqueue", DIR, "mqueue", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)   the namespace's POSIX queues as files
//   open("sys/kernel/msgmax") beneath a private procfs; write("4096")  the writeProc step of linux.sysctl
//   exec: create a message queue (a file created in an mqueue mount is one) and list the queues.
// Then a second child, in a new mount namespace only (the host's IPC namespace), mounts mqueue the
// same way and lists the host's queues: the first child's queue is not there.
// The kernel.msg*, kernel.sem, kernel.shm* and fs.mqueue.* sysctls belong to the writer's IPC
// namespace: runt accepts them in linux.sysctl only with an "ipc" namespace.
// --no-namespace: the first child shares the host's IPC namespace too; it then neither writes the
// limit nor creates a queue, because both would change the host.
import { mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLONE, MS, type Step } from '../src/building-blocks.js';
import { runSteps } from './lib/run-steps.js';
import { flag, heading, indent, nsOf, shell, show } from './lib/show.js';

const isolate = !flag('no-namespace');
const QUEUE = 'runt-example-06';
const mountPoint = mkdtempSync(join(tmpdir(), 'runt-example-06-'));

const mqueueSteps: Step[] = [
  {
    op: 'mount',
    source: null,
    target: '/',
    fstype: null,
    flags: MS.REC | MS.PRIVATE,
    data: null,
    targetInRoot: false,
    mkdir: 'none',
    field: 'linux.rootfsPropagation',
  },
  {
    op: 'mount',
    source: 'mqueue',
    target: mountPoint,
    fstype: 'mqueue',
    flags: MS.NOSUID | MS.NODEV | MS.NOEXEC,
    data: null,
    targetInRoot: false,
    mkdir: 'none',
    field: 'mounts[4]',
  },
];
const list = `echo "queues: $(busybox ls ${mountPoint} | busybox tr "\\n" " ")"; echo "System V objects: $(busybox cat /proc/sysvipc/msg /proc/sysvipc/sem /proc/sysvipc/shm | busybox grep -vc "^ *key")"`;

try {
  heading(`a child ${isolate ? 'in new IPC and mount namespaces' : "in a new mount namespace, sharing the host's IPC namespace"}`);
  const before = readFileSync('/proc/sys/kernel/msgmax', 'utf8').trim();
  const first = await runSteps({
    cloneFlags: (isolate ? CLONE.NEWIPC : 0) | CLONE.NEWNS,
    steps: [
      ...mqueueSteps,
      ...(isolate
        ? [{ op: 'writeProc', path: '/proc/sys/kernel/msgmax', data: '4096', field: 'linux.sysctl["kernel.msgmax"]' } as Step]
        : []),
      { op: 'sync', tag: 1, field: 'example: let the parent look' },
      shell(
        `${isolate ? `busybox touch ${mountPoint}/${QUEUE}; ` : ''}echo "kernel.msgmax: $(busybox cat /proc/sys/kernel/msgmax)"; ${list}`,
      ),
    ],
    capture: true,
    atSync: (pid) => {
      show('ipc namespace of this process', nsOf('self', 'ipc'));
      show('ipc namespace of the child', nsOf(pid, 'ipc'));
    },
  });
  console.log(indent(first.output));

  heading("a second child, in the host's IPC namespace (a new mount namespace only, to mount mqueue)");
  const second = await runSteps({
    cloneFlags: CLONE.NEWNS,
    steps: [...mqueueSteps, shell(`echo "kernel.msgmax: $(busybox cat /proc/sys/kernel/msgmax)"; ${list}`)],
    capture: true,
  });
  console.log(indent(second.output));
  show('kernel.msgmax of the host, before', before);
  show('kernel.msgmax of the host, after', readFileSync('/proc/sys/kernel/msgmax', 'utf8').trim());
  if (isolate) {
    console.log(`\n  The queue "${QUEUE}" and msgmax 4096 exist only in the first child's IPC namespace; both vanished with it.`);
  }
} finally {
  rmdirSync(mountPoint);
}
