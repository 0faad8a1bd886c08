// 05 — a network namespace: nothing but a loopback interface, and that one is down.
//
//   npm run build:ts && node dist/examples/05-net.js [--no-namespace]
//
// Steps: clone3(CLONE_NEWNET) → sync → exec a shell that lists the links, brings lo up and pings
// 127.0.0.1. runt does no more than this for a network namespace: connecting it (a veth pair, a
// bridge, routes) is the job of whoever calls the runtime, through a hook or by joining a namespace
// it prepared ("path" in linux.namespaces).
// --no-namespace: the child stays in the host's network namespace and only lists the links (it
// changes nothing there).
import { networkInterfaces } from 'node:os';
import { CLONE } from '../src/building-blocks.js';
import { runSteps } from './lib/run-steps.js';
import { flag, heading, indent, nsOf, shell, show } from './lib/show.js';

const isolate = !flag('no-namespace');
// /proc/net/dev lists the interfaces of the reader's network namespace.
const interfaces =
  'echo "interfaces: $(busybox tail -n +3 /proc/net/dev | busybox cut -d: -f1 | busybox tr -d " " | busybox tr "\\n" " ")"';
const script = isolate
  ? `${interfaces}; busybox ip link | busybox grep "^[0-9]"; busybox ip link set lo up; echo "after ip link set lo up:";` +
    ' busybox ip -o addr | busybox cut -d" " -f2,4,7; busybox ping -c 1 -W 1 127.0.0.1 | busybox grep -E "transmitted"'
  : interfaces;

heading(`a child ${isolate ? 'in a new network namespace' : "in the host's network namespace"}`);
const r = await runSteps({
  cloneFlags: isolate ? CLONE.NEWNET : 0,
  steps: [{ op: 'sync', tag: 1, field: 'example: let the parent look' }, shell(script)],
  capture: true,
  atSync: (pid) => {
    show('net namespace of this process', nsOf('self', 'net'));
    show('net namespace of the child', nsOf(pid, 'net'));
  },
});
show('interfaces of the host', Object.keys(networkInterfaces()).join(', ') || '(none up)');
heading('what the child printed');
console.log(indent(r.output));
if (isolate) {
  console.log('\n  A new network namespace starts with lo only, DOWN; everything else must be brought in from outside.');
}
