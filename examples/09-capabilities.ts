// 09 — capabilities: root, minus most of what makes root powerful.
//
//   npm run build:ts && node dist/examples/09-capabilities.js [--keep-chown]
//
// Steps (runt's, for process.capabilities):
//   prctl(PR_CAPBSET_DROP, cap) for every capability not kept     the bounding set: the ceiling for good
//   capset(effective = permitted = kept, inheritable = {})
//   → exec a shell that shows its sets and tries chown and reading another user's 0600 file.
// The child is uid 0 and stays uid 0: what it may do is decided by its capabilities, not its uid.
// Kept: runc's default trio CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE (plus CAP_CHOWN with
// --keep-chown). The file operations happen in a temporary directory made for the example.
import { chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capNumber } from '../src/building-blocks.js';
import { runSteps } from './lib/run-steps.js';
import { capabilityNames, flag, heading, indent, shell, show } from './lib/show.js';

const keep = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', ...(flag('keep-chown') ? ['CAP_CHOWN'] : [])].map(capNumber);
const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'runt-example-09-'));
const file = join(dir, 'file');
const secret = join(dir, 'someone-elses-secret');
writeFileSync(file, '');
writeFileSync(secret, 'secret\n', { mode: 0o600 });
chownSync(secret, 1000, 1000);

try {
  heading(`uid 0 with ${keep.length} of ${lastCap + 1} capabilities`);
  const r = await runSteps({
    steps: [
      { op: 'capBounding', keep, lastCap, field: 'process.capabilities.bounding' },
      { op: 'capset', effective: keep, permitted: keep, inheritable: [], field: 'process.capabilities' },
      shell(`busybox grep -E "^Cap(Eff|Bnd)" /proc/self/status; echo "uid: $(busybox id -u)";
        busybox chown 1:1 ${file} 2>/dev/null && echo "chown: done" || echo "chown: Operation not permitted";
        busybox cat ${secret} > /dev/null 2>&1 && echo "read uid 1000's 0600 file: done" || echo "read uid 1000's 0600 file: Permission denied"`),
    ],
    capture: true,
  });
  console.log(indent(r.output));
  const eff = /CapEff:\s+(\w+)/.exec(r.output)?.[1] ?? '0';
  show('CapEff by name', capabilityNames(eff).join(', '));
  show(
    "this process's CapEff",
    `${capabilityNames(/CapEff:\s+(\w+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]).length} capabilities`,
  );
  show('owner of the file now', `uid ${statSync(file).uid}`);
  console.log('\n  Without CAP_CHOWN, root cannot give a file away; without CAP_DAC_OVERRIDE, it is bound by file modes');
  console.log('  like anyone else. Dropped from the bounding set, no exec of a setuid or file-capability binary brings them back.');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
