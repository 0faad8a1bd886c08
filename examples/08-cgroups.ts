// 08 — cgroup limits on memory and the number of processes.
//
//   npm run build:ts && node dist/examples/08-cgroups.js [--no-limits]
//
// Namespaces hide; cgroups limit. The parent makes a cgroup with runt's cgroup layer
// (src/cgroups: the same calls `create` makes), writes the limits (memory 32 MiB, pids.max 8),
// and at the sync step puts the child in it (cgroup.procs) before the child runs anything. The child
// then tries to start 16 processes and to allocate 48 MiB. Afterwards the parent reads the cgroup's
// counters and removes it.
// --no-limits: the same cgroup without the limits: everything succeeds.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCgroupManager } from '../src/building-blocks.js';
import { runSteps } from './lib/run-steps.js';
import { flag, heading, indent, shell, show } from './lib/show.js';

const limit = !flag('no-limits');
const MiB = 1024 * 1024;
const cgroup = createCgroupManager({ cgroupsPath: `/runt-example-08-${process.pid}`, id: 'example-08' });

/** A file of the container's cgroup in the hierarchy holding `controller` (v1), or the v2 directory. */
function read(controller: string, file: string): string {
  const key = '' in cgroup.paths ? '' : Object.keys(cgroup.paths).find((k) => k.split(',').includes(controller));
  try {
    return key === undefined ? '(not mounted)' : readFileSync(join(cgroup.paths[key], file), 'utf8').trim().replace(/\n/g, ', ');
  } catch {
    return '(no such file)';
  }
}
const v2 = '' in cgroup.paths;

// A shell gives up at its first failed fork, so the forking happens in a shell of its own.
const script = `
busybox sh -c 'for i in $(busybox seq 16); do busybox sleep 1 & echo started $i; done' > /tmp/runt-example-08.$$ 2>&1
echo "started $(busybox grep -c started /tmp/runt-example-08.$$) of 16 processes ($(busybox grep -c "can't fork" /tmp/runt-example-08.$$) failed fork)"
busybox rm /tmp/runt-example-08.$$
busybox sleep 1.2
busybox dd if=/dev/zero of=/dev/null bs=${48 * MiB} count=1 2>/dev/null
status=$?
echo "allocating 48 MiB: dd exit status $status ($([ $status = 137 ] && echo killed by SIGKILL || echo done))"`;

try {
  cgroup.create();
  if (limit) cgroup.apply({ memory: { limit: 32 * MiB }, pids: { limit: 8 } });
  heading(`a child in the cgroup ${Object.values(cgroup.paths)[0]} (${cgroup.kind}), ${limit ? 'memory 32 MiB, pids.max 8' : 'no limits'}`);
  let running = '';
  const r = await runSteps({
    steps: [{ op: 'sync', tag: 1, field: 'linux.cgroupsPath' }, shell(script)],
    capture: true,
    atSync: (pid) => {
      cgroup.join(pid);
      show(
        "the child's /proc/PID/cgroup (pids)",
        readFileSync(`/proc/${pid}/cgroup`, 'utf8')
          .split('\n')
          .find((l) => /pids|^0::/.test(l)) ?? '',
      );
    },
    afterExec: async () => {
      await new Promise((done) => setTimeout(done, 400));
      running = read('pids', 'pids.current');
    },
  });
  heading('what the child printed');
  console.log(indent(r.output));
  heading("the cgroup's counters");
  show('pids.max', read('pids', 'pids.max'));
  show('pids.current while the sleeps ran', running);
  show('pids.events', read('pids', 'pids.events'));
  if (v2) {
    show('memory.max', read('memory', 'memory.max'));
    show('memory.peak', read('memory', 'memory.peak'));
    show('memory.events', read('memory', 'memory.events'));
  } else {
    show('memory.limit_in_bytes', read('memory', 'memory.limit_in_bytes'));
    show('memory.max_usage_in_bytes', read('memory', 'memory.max_usage_in_bytes'));
    show('memory.failcnt', read('memory', 'memory.failcnt'));
    show('memory.oom_control', read('memory', 'memory.oom_control'));
  }
  if (limit) console.log('\n  fork() failed with EAGAIN once 8 tasks were in the cgroup; the allocation beyond 32 MiB met the OOM killer.');
} finally {
  // Whatever is left in the cgroup (nothing, normally) goes first: a cgroup with tasks cannot be removed.
  for (const pid of cgroup.pids()) process.kill(pid, 'SIGKILL');
  if (cgroup.pids().length) await new Promise((done) => setTimeout(done, 100));
  cgroup.destroy();
}
