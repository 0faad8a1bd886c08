// The systemd cgroup driver (--systemd-cgroup) against real systemd: the QEMU guest of
// test/helpers/vm.ts boots a Debian root (mmdebstrap, cached in /var/cache/runt-test/systemd-root)
// with systemd as PID 1, and a oneshot unit runs test/vm/systemd-guest.ts: containers through the
// library and the CLI, each scope checked with `systemctl show` and in its cgroup files, the bad
// inputs (a unit that exists, a slice that does not, systemd not answering), and nothing left.
//
// Building the root takes two or three minutes of downloads and unpacking, once per machine (it is
// cached); RUNT_TEST_SYSTEMD_VM=0 turns the build off, and then the test runs only when the image is
// cached and skips, saying so, when it is not. A build that fails (no Debian mirror) skips with why.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout } from '../src/cgroups/index.js';
import { makeBundle, sourceRootfs } from './helpers/bundle.js';
import { errorLines } from './helpers/runt.js';
import { stateRoot } from './helpers/state-root.js';
import {
  assertGuestResults,
  ensureInitramfs,
  ensureKernel,
  ensureSystemdRoot,
  GUEST_HOSTBIN,
  GUEST_RUN,
  guestProgram,
  runVm,
  vmUnavailable,
} from './helpers/vm.js';

// systemd's boot under TCG (~20-40 s), node (~3 s), the containers; building the root when asked.
const VM_TIMEOUT_MS = 420_000;
t.setTimeout(VM_TIMEOUT_MS + 300_000);

const GROUPS = ['host', 'scope', 'default path and other slices', 'bad input', 'podman'];

function prepare(): { skip: string } | { kernel: Exclude<ReturnType<typeof ensureKernel>, string>; initramfs: string; root: string } {
  const why = vmUnavailable();
  if (why) return { skip: why };
  const kernel = ensureKernel();
  if (typeof kernel === 'string') return { skip: kernel };
  const root = ensureSystemdRoot(process.env.RUNT_TEST_SYSTEMD_VM !== '0');
  if (!root.endsWith('.img')) return { skip: root };
  return { kernel, initramfs: ensureInitramfs(kernel), root };
}

// On this machine itself (hybrid): the driver is refused with one line and leaves nothing.
const hostKind = detectLayout().kind;
t.test('--systemd-cgroup on a host that is not cgroup v2', { skip: hostKind === 'v2' ? 'this host is cgroup v2' : false }, async (t) => {
  const root = stateRoot(t);
  const b = makeBundle(t, ['true'], (s) => {
    s.linux!.cgroupsPath = 'system.slice:runt:host1';
  });
  const id = root.id('sdhost');
  const r = root.runt(['--systemd-cgroup', 'run', '--bundle', b.dir, id]);
  t.not(r.code, 0, 'non-zero exit');
  t.same(errorLines(r), [`--systemd-cgroup: this host's cgroups are ${hostKind}; runt's systemd driver needs a cgroup v2 (unified) host`]);
  t.same(root.entries(), [], 'no state left');
});

const vm = prepare();
if ('skip' in vm) t.comment(`systemd VM tests skipped: ${vm.skip}`);

t.test('the systemd cgroup driver against systemd (QEMU guest)', { skip: 'skip' in vm ? vm.skip : false }, async (t) => {
  if ('skip' in vm) return;
  const run = mkdtempSync('/tmp/runt-vm-');
  t.teardown(() => rmSync(run, { recursive: true, force: true }));
  writeFileSync(join(run, 'guest.mjs'), await guestProgram('test/vm/systemd-guest.ts'));
  execFileSync('cp', ['-a', sourceRootfs(), join(run, 'rootfs')]);
  writeFileSync(
    join(run, 'guest.sh'),
    `set -e
cp -a ${GUEST_RUN}/rootfs /tmp/rootfs
cd /
RESULTS=${GUEST_RUN}/results.jsonl ROOTFS=/tmp/rootfs ${GUEST_HOSTBIN}/node ${GUEST_RUN}/guest.mjs
`,
  );
  const r = await runVm({ kernel: vm.kernel, initramfs: vm.initramfs, rootImage: vm.root, runDir: run, timeoutMs: VM_TIMEOUT_MS });
  assertGuestResults(t, r, run, GROUPS);
});
