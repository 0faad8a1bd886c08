// 02 — a PID namespace: the child is PID 1 of its own numbering, and PID 1 has duties.
//
//   npm run build:ts && node dist/examples/02-pid.js [--reaping-init]
//
// Steps: clone3(CLONE_NEWPID) → sync → exec a shell. The parent reads /proc/PID/status from the host:
// its NSpid line lists the pid in every namespace the process is in ("NSpid: 48213 1").
//
// PID 1's first duty is reaping: an orphan is re-parented to the namespace's PID 1, and its exit
// status waits there (a zombie) until PID 1 calls wait(). Here PID 1 leaves an orphan behind and then
// becomes `sleep`, which never waits: the orphan stays a zombie. --reaping-init keeps a shell as
// PID 1 that waits, and the zombie is gone. (When PID 1 exits, the kernel kills the whole namespace.)
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { CLONE } from '../src/building-blocks.js';
import { runSteps } from './lib/run-steps.js';
import { flag, heading, nsOf, shell, show, statusField } from './lib/show.js';

const reaping = flag('reaping-init');
// The inner shell starts a short sleep in the background and exits at once: that sleep is orphaned.
const orphan = 'busybox sh -c "busybox sleep 0.2 &"';
const script = reaping
  ? `echo "inside, my pid is $$"; ${orphan}; busybox sleep 1 & wait`
  : `echo "inside, my pid is $$"; ${orphan}; exec busybox sleep 1`;

/** Every process in the PID namespace `ns`, as the host sees them. */
function processesIn(ns: string): Array<{ hostPid: number; nsPid: string; ppid: string; state: string; name: string }> {
  const out = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/pid`) !== ns) continue;
      const pid = Number(entry);
      const nsPids = statusField(pid, 'NSpid').split(/\s+/);
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      out.push({
        hostPid: pid,
        nsPid: nsPids.at(-1)!,
        ppid: statusField(pid, 'PPid'),
        state: statusField(pid, 'State'),
        name: cmdline || '(zombie: no command line)',
      });
    } catch {
      // gone meanwhile
    }
  }
  return out.sort((a, b) => Number(a.nsPid) - Number(b.nsPid));
}

heading(`a child in a new PID namespace (PID 1 ${reaping ? 'waits for its children' : 'never waits'})`);
let ns = '';
const r = await runSteps({
  cloneFlags: CLONE.NEWPID,
  steps: [{ op: 'sync', tag: 1, field: 'example: let the parent look' }, shell(script)],
  capture: true,
  atSync: (pid) => {
    ns = nsOf(pid, 'pid');
    show('pid namespace of this process', nsOf('self', 'pid'));
    show('pid namespace of the child', ns);
    show("the child's NSpid (host, inside)", statusField(pid, 'NSpid').replace(/\s+/g, ' '));
  },
  afterExec: async () => {
    await new Promise((done) => setTimeout(done, 500));
    heading('the namespace seen from the host, 0.5 s later');
    console.log('  host pid   pid inside  parent (host)  state            command');
    for (const p of processesIn(ns)) {
      console.log(`  ${String(p.hostPid).padEnd(10)} ${p.nsPid.padEnd(11)} ${p.ppid.padEnd(14)} ${p.state.padEnd(16)} ${p.name}`);
    }
  },
});
heading('what the child printed');
console.log(`  ${r.output.trim()}`);
console.log(
  reaping
    ? '\n  No zombie: PID 1 (a shell in `wait`) collected the orphan when it exited.'
    : "\n  The orphan is a zombie (state Z) whose parent is PID 1 (`sleep`): nobody will ever wait for it.\n  A container init must reap (runc's users run tini or dumb-init for this).",
);
show('exit of PID 1', r.code ?? `signal ${r.signal}`);
