// Mount target races (the class of CVE-2021-30465, CVE-2023-27561): a process of the host (standing
// in for a container sharing the rootfs volume) swaps a bind-mount target in the rootfs between a
// directory and a symlink to a host directory, as fast as it can, while runt creates containers
// with a bind mount onto that target. runt opens mount targets inside the root
// (openat2 RESOLVE_IN_ROOT), so a symlink can only lead to a place inside the rootfs: the host
// directory must never receive the mount. A createContainer hook, which runs in the container's
// mount namespace before pivot_root, reports where the bind mount landed.
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, hostMountsNaming, makeBundle, onTeardown, stateRoot, type Bundle } from './helpers/index.js';
import { Runtime } from '../src/runtime.js';
import type { Spec } from '../src/spec/types.js';

// Many containers, one after another: more than the runner's default timeout on a busy machine.
t.setTimeout(300_000);

const ITERATIONS = 50;
const RENAMEAT2 = 316; // x86-64
const RENAME_EXCHANGE = 2;

interface Setup {
  hostDir: string;
  log: string;
}

/** The bundle: a bind mount of <bundle>/src onto /target, /target-swap a symlink to a host
 *  directory (which also exists, empty, at the same path inside the rootfs), and the reporting hook. */
function raceBundle(t: Test, staticLink: boolean): { b: Bundle; setup: Setup } {
  const hostDir = `/tmp/runt-sec-race-${process.pid}-${Math.random().toString(36).slice(2, 8)}/host-dir`;
  mkdirSync(hostDir, { recursive: true });
  writeFileSync(join(hostDir, 'HOST-MARKER'), 'x');
  onTeardown(t, () => rmSync(join(hostDir, '..'), { recursive: true, force: true }));
  let setup: Setup | undefined;
  const b = makeBundle(t, 'true', (s: Spec, b) => {
    const src = b.hostDir('src');
    writeFileSync(join(src, 'SOURCE-MARKER'), 'x');
    mkdirSync(join(b.rootfs, hostDir), { recursive: true });
    if (staticLink) {
      symlinkSync(hostDir, join(b.rootfs, 'target'));
    } else {
      mkdirSync(join(b.rootfs, 'target'));
      symlinkSync(hostDir, join(b.rootfs, 'target-swap'));
    }
    s.mounts!.push({ destination: '/target', type: 'bind', source: src, options: ['rbind'] });
    const log = join(b.dir, 'hook.log');
    // Each line: a mount point of this namespace that is the host directory or inside the rootfs.
    const report =
      `awk -v host='${hostDir}' -v rootfs='${b.rootfs}' '$5 == host { print "ESCAPED " $5 } ` +
      `index($5, rootfs "/target") == 1 { print "dir " $5 } $5 == rootfs host { print "in-root-link " $5 }' /proc/self/mountinfo >> ${log}; ` +
      `echo "naive $(realpath ${b.rootfs}/target)" >> ${log}; echo end >> ${log}`;
    s.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', report] }] };
    setup = { hostDir, log };
  });
  return { b, setup: setup! };
}

/** The hook's report of each create, split at the "end" lines. */
function reports(log: string): string[][] {
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    /* no create ran */
  }
  return text
    .split('end\n')
    .filter((r) => r.trim() !== '')
    .map((r) => r.trim().split('\n'));
}

t.test('a symlink target is followed inside the rootfs, where a naive runtime would go to the host', async (t) => {
  const root = stateRoot(t);
  const { b, setup } = raceBundle(t, true);
  const r = root.create(b);
  t.equal(r.code, 0, describe(r));
  const [report] = reports(setup.log);
  t.ok(report.includes(`naive ${setup.hostDir}`), 'resolved on the host, /target is the host directory');
  t.notOk(
    report.some((l) => l.startsWith('ESCAPED')),
    'the host directory received no mount',
  );
  t.ok(report.includes(`in-root-link ${b.rootfs}${setup.hostDir}`), 'the mount landed on the same path inside the rootfs');
});

t.test(`a target swapped between a directory and a symlink, ${ITERATIONS} creates: never a host mount`, async (t) => {
  const root = stateRoot(t);
  const { b, setup } = raceBundle(t, false);
  const rt = new Runtime({ root: root.path });

  // The swapper: renameat2(RENAME_EXCHANGE) in a loop, so /target is always one or the other.
  const swapper = spawn(
    'nice',
    [
      '-n',
      '5',
      'perl',
      '-e',
      `while (1) { syscall(${RENAMEAT2}, -100, $ARGV[0], -100, $ARGV[1], ${RENAME_EXCHANGE}) == 0 or die "renameat2: $!" }`,
      join(b.rootfs, 'target'),
      join(b.rootfs, 'target-swap'),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let swapperErr = '';
  swapper.stderr!.on('data', (d: Buffer) => {
    swapperErr += d.toString();
  });
  onTeardown(t, () => {
    if (swapper.exitCode === null) swapper.kill('SIGKILL');
  });

  const failures: string[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const id = root.id('race');
    try {
      await rt.create(id, b.dir, { stdio: 'ignore' });
    } catch (e) {
      failures.push((e as Error).message);
    }
    await rt.delete(id, { force: true }).catch(() => {});
  }
  t.equal(swapper.exitCode, null, `the swapper ran all along ${swapperErr}`);
  swapper.kill('SIGKILL');

  const all = reports(setup.log);
  const escaped = all.flat().filter((l) => l.startsWith('ESCAPED'));
  t.same(escaped, [], 'the host directory never received the mount');
  t.same(hostMountsNaming(setup.hostDir), [], "nor is there a mount on it in the host's namespace");
  t.equal(all.length, ITERATIONS, 'the hook reported every create');
  const landedOnDir = all.filter((r) => r.some((l) => l.startsWith('dir '))).length;
  const landedInRoot = all.filter((r) => r.some((l) => l.startsWith('in-root-link '))).length;
  t.equal(landedOnDir + landedInRoot, all.length - failures.length, 'every successful create mounted inside the rootfs');
  t.comment(
    `on the directory: ${landedOnDir}, through the symlink inside the rootfs: ${landedInRoot}, failed: ${failures.length} ${failures.slice(0, 3).join(' | ')}`,
  );
  t.match(readFileSync(join(realpathSync(setup.hostDir), 'HOST-MARKER'), 'utf8'), 'x', 'the host directory is untouched');
});
