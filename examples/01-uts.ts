// 01 — a UTS namespace: the child gets its own hostname; the host's does not change.
//
//   npm run build:ts && node dist/examples/01-uts.js [--no-namespace]
//
// Steps: clone3(CLONE_NEWUTS) → sync (the parent looks at the child's namespace) → sethostname → exec.
// --no-namespace: clone without CLONE_NEWUTS and show the child shares the host's namespace; the
// sethostname step is then left out, because it would rename the host.
import { hostname } from 'node:os';
import { CLONE, type Step } from '../src/building-blocks.js';
import { runSteps } from './lib/run-steps.js';
import { flag, heading, nsOf, shell, show } from './lib/show.js';

const NAME = 'runt-example-01';
const isolate = !flag('no-namespace');

heading(`a child ${isolate ? 'in a new UTS namespace' : 'without its own UTS namespace'}`);
const hostBefore = hostname();
let childNs = '';
const steps: Step[] = [
  { op: 'sync', tag: 1, field: 'example: let the parent look' },
  ...(isolate ? [{ op: 'sethostname', name: NAME, field: 'hostname' } as Step] : []),
  shell('echo "$(busybox hostname)"'),
];
const r = await runSteps({
  cloneFlags: isolate ? CLONE.NEWUTS : 0,
  steps,
  capture: true,
  atSync: (pid) => {
    childNs = nsOf(pid, 'uts');
  },
});

show('uts namespace of this process', nsOf('self', 'uts'));
show('uts namespace of the child', childNs);
show('hostname seen by the child', r.output.trim());
show('hostname of the host, before', hostBefore);
show('hostname of the host, after', hostname());
if (isolate) {
  console.log(`\n  The inodes differ: the child has its own UTS namespace, so sethostname("${NAME}") changed only its copy.`);
} else {
  console.log("\n  Same inode: the child shares the host's UTS namespace. sethostname here would rename the host,");
  console.log('  which is why runt refuses a hostname without a "uts" entry in linux.namespaces.');
}
