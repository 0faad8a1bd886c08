// 03 — a mount namespace with its own /proc.
//
//   npm run build:ts && node dist/examples/03-mount-proc.js [--skip-proc]
//
// Steps: clone3(CLONE_NEWNS | CLONE_NEWPID) →
//   mount(NULL, "/", NULL, MS_REC|MS_PRIVATE, NULL)  the copied mounts stop sharing events with the host's
//   mount("proc", "/proc", "proc", MS_NOSUID|MS_NODEV|MS_NOEXEC, NULL)  a procfs of the new PID namespace
//   → exec ps and grep mountinfo.
// A new PID namespace alone is not enough for `ps`: it reads /proc, and the host's /proc shows the
// host's processes. --skip-proc leaves the host's /proc in place: ps then lists every host process.
//
// The private step comes first for a reason this example does not try: on a systemd host "/" is a
// shared mount ("shared:1" in mountinfo) and the new namespace's copy is a peer of it. Mounting proc
// on /proc there without making it private first would propagate the mount back into the host.
import { readFileSync } from 'node:fs';
import { CLONE, MS, type Step } from '../src/building-blocks.js';
import { runSteps } from './lib/run-steps.js';
import { flag, heading, indent, nsOf, shell, show } from './lib/show.js';

const skipProc = flag('skip-proc');
/** The mountinfo line of the mount on top at a mount point (the last one listed). */
const lineOf = (mountinfo: string, point: string) =>
  mountinfo
    .split('\n')
    .reverse()
    .find((l) => l.split(' ')[4] === point) ?? '(none)';
/** The optional fields of a mountinfo line: its propagation ("shared:1", "master:3", or nothing: private). */
const propagationOf = (line: string) => line.slice(0, line.indexOf(' - ')).split(' ').slice(6).join(' ') || 'private';

const steps: Step[] = [
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
  ...(skipProc
    ? []
    : [
        {
          op: 'mount',
          source: 'proc',
          target: '/proc',
          fstype: 'proc',
          flags: MS.NOSUID | MS.NODEV | MS.NOEXEC,
          data: null,
          targetInRoot: false,
          mkdir: 'none',
          field: 'mounts[0]',
        } as Step,
      ]),
  { op: 'sync', tag: 1, field: 'example: let the parent look' },
  shell(
    'out=$(busybox ps -o pid,args); echo "$out" | busybox head -n 6; echo "($(echo "$out" | busybox tail -n +2 | busybox wc -l) processes)"',
  ),
];

heading(`a child in new mount and PID namespaces, ${skipProc ? "keeping the host's /proc" : 'with its own /proc'}`);
const hostInfo = readFileSync('/proc/self/mountinfo', 'utf8');
let childInfo = '';
const r = await runSteps({
  cloneFlags: CLONE.NEWNS | CLONE.NEWPID,
  steps,
  capture: true,
  atSync: (pid) => {
    show('mount namespace of this process', nsOf('self', 'mnt'));
    show('mount namespace of the child', nsOf(pid, 'mnt'));
    childInfo = readFileSync(`/proc/${pid}/mountinfo`, 'utf8');
  },
});

heading('mountinfo lines (mount id, parent id, major:minor, root, mount point, options, propagation, ...)');
console.log('  host  /     ', lineOf(hostInfo, '/'));
console.log('  child /     ', lineOf(childInfo, '/'));
console.log('  host  /proc ', lineOf(hostInfo, '/proc'));
console.log('  child /proc ', lineOf(childInfo, '/proc'));
console.log();
show('propagation of "/" on the host', propagationOf(lineOf(hostInfo, '/')));
show('propagation of "/" in the child', propagationOf(lineOf(childInfo, '/')));
console.log('  A "shared:N" mount passes mount events to its peers; MS_PRIVATE makes the child\'s copies stop.');
if (!skipProc) console.log("  Its /proc is a new mount (a new mount id): a procfs that belongs to the child's PID namespace.");

heading('what the child printed');
console.log(
  indent(
    r.output
      .split('\n')
      .map((l) => (l.length > 90 ? `${l.slice(0, 87)}...` : l))
      .join('\n'),
  ),
);
if (skipProc) console.log("\n  With the host's /proc, ps lists the host's processes even inside the new PID namespace.");
else console.log("\n  Only the container's own processes: its shell (PID 1) and what it runs.");
