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
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { sourceRootfs } from './helpers/bundle.js';
import { REPO } from './helpers/runt.js';
import { ensureInitramfs, ensureKernel, GUEST_REPO, GUEST_RUN, runVm, vmUnavailable } from './helpers/vm.js';

// Boot (~7 s), node start-up (~3 s) and every container under TCG, on a loaded 2-core host.
const VM_TIMEOUT_MS = 210_000;
t.setTimeout(VM_TIMEOUT_MS + 60_000);

const GROUPS = ['resources', 'cpu.idle', 'devices', 'oom', 'pids', 'paths', 'bad input'];

function prepare(): { skip: string } | { kernel: Exclude<ReturnType<typeof ensureKernel>, string>; initramfs: string } {
  const why = vmUnavailable();
  if (why) return { skip: why };
  const kernel = ensureKernel();
  if (typeof kernel === 'string') return { skip: kernel };
  return { kernel, initramfs: ensureInitramfs(kernel) };
}

/** The guest program as JavaScript whose imports name the checkout's dist/ in the guest. */
function guestProgram(): string {
  const source = readFileSync(join(REPO, 'test/vm/cgroups-v2-guest.ts'), 'utf8');
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  return js.replace(/from '\.\.\/\.\.\/src\//g, `from '${GUEST_REPO}/dist/src/`);
}

const vm = prepare();
if ('skip' in vm) t.comment(`cgroup v2 VM tests skipped: ${vm.skip}`);

t.test('cgroup v2 on a real kernel (QEMU guest)', { skip: 'skip' in vm ? vm.skip : false }, async (t) => {
  if ('skip' in vm) return;
  const run = mkdtempSync('/tmp/runt-vm-');
  t.teardown(() => rmSync(run, { recursive: true, force: true }));
  writeFileSync(join(run, 'guest.mjs'), guestProgram());
  execFileSync('cp', ['-a', sourceRootfs(), join(run, 'rootfs')]);
  writeFileSync(join(run, 'guest.sh'), `set -e
mount -t cgroup2 cgroup2 /sys/fs/cgroup
cp -a ${GUEST_RUN}/rootfs /tmp/rootfs
cd /
RESULTS=${GUEST_RUN}/results.jsonl ROOTFS=/tmp/rootfs node ${GUEST_RUN}/guest.mjs
`);
  const r = await runVm({ kernel: vm.kernel, initramfs: vm.initramfs, runDir: run, timeoutMs: VM_TIMEOUT_MS });
  t.comment(`VM ran ${(r.ms / 1000).toFixed(1)} s${r.timedOut ? ' (killed at the deadline)' : ''}`);
  const file = join(run, 'results.jsonl');
  const results = existsSync(file)
    ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
    : [];
  const ranGroups: string[] = [];
  let done = false;
  for (const res of results) {
    if (res.done) done = true;
    else if (typeof res.group === 'string') {
      ranGroups.push(res.group);
      t.comment(`  ${res.group}: ${res.ms} ms`);
    } else if (String(res.name).endsWith(': threw')) t.fail(String(res.name), { got: res.got });
    else t.same(res.got, res.want, String(res.name));
  }
  t.same(ranGroups, GROUPS, 'every group ran in the guest');
  t.ok(done, 'the guest program finished');
  t.equal(r.timedOut, false, 'the guest powered off before the deadline');
  if (!done || r.timedOut) t.comment(`guest console (tail):\n${r.console.split('\n').slice(-40).join('\n')}`);
});
