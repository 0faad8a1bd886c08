// runt's cgroup v2 driver against a real kernel: a QEMU guest (test/helpers/vm.ts) with Debian's
// kernel, cgroup2 mounted with every controller. One Node process in the guest
// (test/vm/cgroups-v2-guest.ts) runs the containers through the library and reads each value back
// from the kernel's files; this file asserts every result it sends back. This host is hybrid (its
// cgroup2 has no controllers), so nothing here can be checked on the host itself.
//
// Skips, saying why, when QEMU or cpio is missing or the kernel package cannot be downloaded. The
// kernel and the initramfs are cached in /var/cache/runt-test/vm (RUNT_TEST_VM_CACHE) between runs.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sourceRootfs } from './helpers/bundle.js';
import { assertGuestResults, ensureInitramfs, ensureKernel, GUEST_RUN, guestProgram, runVm, vmUnavailable } from './helpers/vm.js';

// Boot (~7 s), node start-up (~3 s) and every container under TCG, on a loaded 2-core host.
const VM_TIMEOUT_MS = 210_000;
t.setTimeout(VM_TIMEOUT_MS + 60_000);

const GROUPS = ['resources', 'cpu.idle', 'devices', 'oom', 'pids', 'paths', 'bad input', 'rootless (delegated cgroup)'];

function prepare(): { skip: string } | { kernel: Exclude<ReturnType<typeof ensureKernel>, string>; initramfs: string } {
  const why = vmUnavailable();
  if (why) return { skip: why };
  const kernel = ensureKernel();
  if (typeof kernel === 'string') return { skip: kernel };
  return { kernel, initramfs: ensureInitramfs(kernel) };
}

const vm = prepare();
if ('skip' in vm) t.comment(`cgroup v2 VM tests skipped: ${vm.skip}`);

t.test('cgroup v2 on a real kernel (QEMU guest)', { skip: 'skip' in vm ? vm.skip : false }, async (t) => {
  if ('skip' in vm) return;
  const run = mkdtempSync('/tmp/runt-vm-');
  t.teardown(() => rmSync(run, { recursive: true, force: true }));
  writeFileSync(join(run, 'guest.mjs'), await guestProgram('test/vm/cgroups-v2-guest.ts'));
  execFileSync('cp', ['-a', sourceRootfs(), join(run, 'rootfs')]);
  writeFileSync(
    join(run, 'guest.sh'),
    `set -e
mount -t cgroup2 cgroup2 /sys/fs/cgroup
cp -a ${GUEST_RUN}/rootfs /tmp/rootfs
cd /
RESULTS=${GUEST_RUN}/results.jsonl ROOTFS=/tmp/rootfs node ${GUEST_RUN}/guest.mjs
`,
  );
  const r = await runVm({ kernel: vm.kernel, initramfs: vm.initramfs, runDir: run, timeoutMs: VM_TIMEOUT_MS });
  assertGuestResults(t, r, run, GROUPS);
});
