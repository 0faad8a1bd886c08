// 07 — a user namespace: root inside, an unprivileged uid outside.
//
//   npm run build:ts && node dist/examples/07-user.js [--no-map]
//
// Steps: unshare(CLONE_NEWUSER) → sync: the parent writes /proc/PID/uid_map and gid_map
// ("0 100000 65536": ids 0..65535 inside are 100000..165535 outside) → setgroups([]) →
// setresgid(0) → setresuid(0) → exec a shell that shows who it is and tries a few things.
// Why unshare and not clone3(CLONE_NEWUSER): the child of clone3 first execs runt-init, and an
// execve inside a user namespace that maps no uid yet grants no capabilities there (the kernel
// counts the process as root of the namespace only if its uid maps to 0). unshare keeps the full
// set the new namespace gives its creator; the addon refuses CLONE_NEWUSER at clone for this reason.
// Only the parent can write the maps: the child has every capability, but only over objects its
// user namespace owns (CapEff is full inside). A file it creates belongs to uid 100000 on the host,
// and a host file owned by uid 0 is out of its reach even with CAP_DAC_OVERRIDE, because host uid 0
// has no name inside.
// --no-map: the parent writes no maps; the next step fails (setgroups is refused until a gid map
// exists; setresgid would be too, as gid 0 does not exist in the namespace), reported with runt's hint.
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLONE, type Step } from '../src/building-blocks.js';
import { runSteps } from './lib/run-steps.js';
import { capabilityNames, flag, heading, indent, nsOf, shell, show, statusField } from './lib/show.js';

const mapIds = !flag('no-map');
const MAP = '0 100000 65536';
const dir = mkdtempSync(join(tmpdir(), 'runt-example-07-'));
chmodSync(dir, 0o777);
const secret = join(dir, 'owned-by-host-root');
writeFileSync(secret, 'secret\n', { mode: 0o600 });

const steps: Step[] = [
  { op: 'unshare', flags: CLONE.NEWUSER, field: 'linux.namespaces' },
  { op: 'sync', tag: 1, field: 'linux.uidMappings' },
  { op: 'setgroups', gids: [], field: 'process.user.additionalGids' },
  { op: 'setresgid', gid: 0, field: 'process.user.gid' },
  { op: 'setresuid', uid: 0, field: 'process.user.uid' },
  shell(`busybox id; busybox grep -E "^(Uid|CapEff)" /proc/self/status; echo "uid_map: $(busybox cat /proc/self/uid_map)";
    busybox touch ${dir}/made-inside && echo "created ${dir}/made-inside";
    busybox cat ${secret} > /dev/null 2>&1 && echo "read the host root's 0600 file" || echo "cannot read the host root's 0600 file"`),
];

try {
  heading(`a child in a new user namespace ${mapIds ? `with the map "${MAP}"` : 'without id maps'}`);
  let outside = '';
  const r = await runSteps({
    steps,
    capture: true,
    atSync: (pid) => {
      show('user namespace of this process', nsOf('self', 'user'));
      show('user namespace of the child', nsOf(pid, 'user'));
      if (mapIds) {
        writeFileSync(`/proc/${pid}/uid_map`, MAP);
        writeFileSync(`/proc/${pid}/gid_map`, MAP);
      }
    },
    afterExec: (pid) => {
      outside = statusField(pid, 'Uid');
    },
  });
  if (r.failure) {
    show('failed step', `#${r.failure.step} ${r.failure.op}: ${r.failure.message}: ${r.failure.errno}`);
    show('hint (src/plan/hints.ts)', r.failure.hint ?? '-');
    console.log('\n  Without a map no id exists in the namespace: the process shows as 65534 (nobody) and cannot become 0.');
  } else {
    heading('what the child printed');
    console.log(indent(r.output));
    const cap = /CapEff:\s+(\w+)/.exec(r.output)?.[1];
    if (cap)
      show('its CapEff, by name', `${capabilityNames(cap).length} capabilities (${capabilityNames(cap).slice(0, 3).join(', ')}, ...)`);
    heading('the same process seen from the host');
    show('Uid (real, effective, saved, fs)', outside.replace(/\s+/g, ' '));
    show(`owner of made-inside on the host`, `uid ${statSync(join(dir, 'made-inside')).uid}`);
    console.log('\n  Root inside is uid 100000 outside: its capabilities only count for what its namespace owns.');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
