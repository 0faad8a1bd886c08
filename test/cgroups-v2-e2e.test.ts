// The cgroup v2 driver with real containers. This host is hybrid, so each runt call runs in a private
// mount namespace (unshare -m) in which /sys/fs/cgroup is replaced by a cgroup the test makes in the
// host's cgroup2 mount: runt detects a pure v2 layout there. The eBPF device filter, the v2 freezer
// (cgroup.freeze), ps, stats, kill --all and delete then run for real. The host's own mounts and its
// cgroup2 root are never changed.
//
// No controller is enabled in the host's cgroup2 root (its subtree_control is left alone), so the
// test's cgroup has none: resource files such as memory.max cannot be tested here (the fake cgroupfs
// in cgroups-v2.test.ts covers their writes), and asking for one is the error tested last.
import t from 'tap';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout } from '../src/cgroups/index.js';
import { native } from '../src/native.js';
import { alive, bindDevice, CLI, cliHarness, DEVICE_PROBE_SCRIPT, deviceProber, ok, waitFor } from './cgroups-cli.js';

const unified = detectLayout().unified?.mountpoint;

// Dozens of containers, each runt call a Node start-up: more than the default per-file limit.
t.setTimeout(10 * 60_000);
const skip = !unified
  ? 'no cgroup2 mount on this host'
  : !existsSync(CLI)
    ? `${CLI} is not built (npx tsc -p tsconfig.json)`
    : !existsSync('/dev/fuse')
      ? 'no /dev/fuse to bind in'
      : false;

/** The test's own cgroup: the whole /sys/fs/cgroup that runt sees. */
const base = `${unified ?? '/nonexistent'}/runt-test-${process.pid}-v2e2e`;

/** In a private mount namespace: put `base` in place of /sys/fs/cgroup (hiding the v1 hierarchies),
 *  then exec the command given after it. */
const PRIVATE_V2 = `set -e
base=$1; shift
hold=$(mktemp -d /tmp/runt-cg2-hold.XXXXXX)
mount --bind "$base" "$hold"
umount -R -l /sys/fs/cgroup
mount --move "$hold" /sys/fs/cgroup
rmdir "$hold"
exec "$@"`;

const containerDir = (id: string) => join(base, 'runt', id);

if (!skip) {
  mkdirSync(base);
  t.teardown(() => {
    // After every container's own cleanup: what a failed test may have left, then the base.
    const runt = join(base, 'runt');
    if (existsSync(runt)) {
      for (const e of readdirSync(runt, { withFileTypes: true })) if (e.isDirectory()) rmdirSync(join(runt, e.name));
      rmdirSync(runt);
    }
    rmdirSync(base);
  });
}

const { stateRoot, newId, runt, bundle, runDetached, state, cleanupContainer } = cliHarness(t, {
  idPrefix: 'cgv2e2e',
  wrapper: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', PRIVATE_V2, 'sh', base],
  cgroupsOf: (id) => [containerDir(id)],
});

/** BPF_CGROUP_DEVICE programs attached to the container's cgroup. */
function devicePrograms(id: string): number {
  const fd = openSync(containerDir(id), 'r');
  try {
    return native().queryDeviceFilters(fd);
  } finally {
    closeSync(fd);
  }
}

const read = (id: string, file: string) => readFileSync(join(containerDir(id), file), 'utf8').trim();

t.test('a container on a cgroup v2 layout: eBPF device filter, freezer, ps, stats, kill --all, delete', { skip }, async (t) => {
  const c = runDetached(
    t,
    `cat /proc/self/cgroup; ${DEVICE_PROBE_SCRIPT}`,
    { devices: [{ allow: false, access: 'rwm' }] },
    bindDevice('/dev/fuse'),
  );
  const { id } = c;
  const init = state(id).pid;
  t.ok(existsSync(containerDir(id)), 'the cgroup is in the v2 tree');
  t.equal(read(id, 'cgroup.procs'), String(init), 'it holds the init');
  const cgroupLine = await waitFor('/proc/self/cgroup', () =>
    c
      .stdout()
      .split('\n')
      .find((l) => l.startsWith('0::')),
  );
  t.equal(cgroupLine, `0::${base.slice(unified!.length)}/runt/${id}`, 'inside, /proc/self/cgroup names it');

  // Devices: enforced by the eBPF program alone (the container's v1 devices cgroup is the host's).
  const open = deviceProber(init, c.stdout);
  t.equal(devicePrograms(id), 1, 'one device program attached');
  t.equal(await open('/dev/fuse'), '/dev/fuse 1', '/dev/fuse is denied');
  t.equal(await open('/dev/null'), '/dev/null 0', '/dev/null (a standard device) opens');
  ok(
    t,
    runt(['update', '--resources', '-', id], JSON.stringify({ devices: [{ allow: true, type: 'c', major: 10, minor: 229, access: 'r' }] })),
    'update allows c 10:229 r',
  );
  t.equal(await open('/dev/fuse'), '/dev/fuse 0', 'now /dev/fuse opens');
  t.equal(devicePrograms(id), 1, 'the update replaced the program');
  ok(
    t,
    runt(
      ['update', '--resources', '-', id],
      JSON.stringify({ devices: [{ allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' }] }),
    ),
    'update denies it again',
  );
  t.equal(await open('/dev/fuse'), '/dev/fuse 1', 'denied again');
  t.equal(await open('/dev/zero'), '/dev/zero 0', 'the standard devices stay');
  t.equal(devicePrograms(id), 1, 'still one program');

  // The v2 freezer.
  ok(t, runt(['pause', id]), 'pause');
  t.equal(state(id).status, 'paused');
  t.equal(read(id, 'cgroup.freeze'), '1');
  t.match(read(id, 'cgroup.events'), /^frozen 1$/m);
  ok(t, runt(['resume', id]), 'resume');
  t.equal(state(id).status, 'running');
  t.match(read(id, 'cgroup.events'), /^frozen 0$/m);
  t.equal(await open('/dev/null'), '/dev/null 0', 'the container runs again');

  const ps = runt(['ps', '--format', 'json', id]);
  ok(t, ps, 'ps');
  t.same(JSON.parse(ps.stdout), [init], 'ps lists the init');
  const stats = runt(['events', '--stats', id]);
  ok(t, stats, 'events --stats');
  const ev = JSON.parse(stats.stdout) as { type: string; data: { cpu: { usage: { total: number } } } };
  t.equal(ev.type, 'stats');
  t.ok(ev.data.cpu.usage.total > 0, 'cpu usage from cpu.stat');

  ok(t, runt(['kill', '--all', id, 'KILL']), 'kill --all KILL');
  await waitFor('the container to stop', () => state(id).status === 'stopped');
  t.notOk(alive(init), 'the init is gone');
  ok(t, runt(['delete', id]), 'delete');
  t.notOk(existsSync(containerDir(id)), 'no cgroup left');
  t.notOk(existsSync(join(stateRoot, id)), 'no state directory');
});

t.test('delete --force on a paused v2 container', { skip }, async (t) => {
  const c = runDetached(t, 'sleep 1000 & exec sleep 1001');
  const pids = await waitFor('two processes', () => {
    const r = runt(['ps', '--format', 'json', c.id]);
    const list = r.code === 0 ? (JSON.parse(r.stdout) as number[]) : [];
    return list.length === 2 && list;
  });
  ok(t, runt(['pause', c.id]), 'pause');
  t.match(read(c.id, 'cgroup.events'), /^frozen 1$/m, 'frozen');
  ok(t, runt(['delete', '--force', c.id]), 'delete --force');
  for (const p of pids) t.notOk(alive(p), `pid ${p} is gone`);
  t.notOk(existsSync(containerDir(c.id)), 'no cgroup left');
  t.notOk(existsSync(join(stateRoot, c.id)), 'no state directory');
});

t.test('a controller the cgroup2 tree lacks is an error naming the field, and nothing is left', { skip }, async (t) => {
  const id = newId();
  cleanupContainer(t, id);
  const r = runt(['run', '--bundle', bundle(id, 'echo should not run', { memory: { limit: 64 * 1024 * 1024 } }), id]);
  t.not(r.code, 0, 'run fails');
  t.equal(r.stdout, '', 'the process never ran');
  t.match(r.stderr.trim(), /^linux\.resources\.memory\.limit: the memory controller is not available in /, 'the error names the field');
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  t.notOk(existsSync(containerDir(id)), 'no cgroup');
  t.notOk(existsSync(join(stateRoot, id)), 'no state directory');
});
