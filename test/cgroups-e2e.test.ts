// Resource control end to end: real containers through the CLI (`node bin/runt.cjs`), with
// every value read back from the kernel's own cgroup files and the limits exercised (fork over the
// pids limit, an OOM kill reported by `events`, a device the rules deny), plus pause, resume,
// update, ps, events --stats, kill --all and delete leaving nothing behind in any hierarchy.
//
// The runtime's stdout and stderr always go to files: a container inherits them, so a pipe would
// stay open for as long as the container runs.
import t from 'tap';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout, statsJson } from '../src/cgroups/index.js';
import type { Resources } from '../src/spec/types.js';
import {
  alive,
  bindDevice,
  CLI,
  cgroupsNamed,
  cliHarness,
  DEVICE_PROBE_SCRIPT,
  deviceProber,
  ok,
  procState,
  waitFor,
} from './cgroups-cli.js';

const MiB = 1024 * 1024;

// Dozens of containers, each runt call a Node start-up: more than the default per-file limit.
t.setTimeout(10 * 60_000);

const layout = detectLayout();
const skip =
  layout.kind === 'v2'
    ? 'these tests read cgroup v1 files; this host is cgroup v2 (see cgroups-v2-e2e and cgroups-bpf)'
    : !existsSync(CLI)
      ? `${CLI} is not built (npx tsc -p tsconfig.json)`
      : false;
const noFuse = !existsSync('/dev/fuse') && 'no /dev/fuse to bind in';

/** The directory of the v1 hierarchy holding `subsystem` (`/sys/fs/cgroup/cpu` or `.../cpu,cpuacct`). */
function hierarchy(subsystem: string): string {
  const h = layout.v1.find((x) => x.subsystems.includes(subsystem));
  if (!h) throw new Error(`the ${subsystem} hierarchy is not mounted`);
  return h.mountpoint;
}

/** The container's cgroup in the hierarchy of `subsystem` (the default cgroupsPath is /runt/<id>). */
const cgroupOf = (subsystem: string, id: string) => join(hierarchy(subsystem), 'runt', id);
const readCg = (subsystem: string, id: string, file: string) => readFileSync(join(cgroupOf(subsystem, id), file), 'utf8').trim();

const { stateRoot, work, newId, runt, runtBackground, bundle, runDetached, state, cleanupContainer } = cliHarness(t, {
  idPrefix: 'cge2e',
  cgroupsOf: (id) => cgroupsNamed(id).sort().reverse(),
});

/** Which weight file the blkio hierarchy offers in a new cgroup (blkio.weight under CFQ, blkio.bfq.weight
 *  under BFQ), seen in a probe cgroup this test makes and removes. */
function blkioWeightFile(): string | undefined {
  const probe = join(hierarchy('blkio'), `runt-test-${process.pid}-probe`);
  mkdirSync(probe);
  try {
    return ['blkio.weight', 'blkio.bfq.weight'].find((f) => existsSync(join(probe, f)));
  } finally {
    rmdirSync(probe);
  }
}

/** A real block device (major:minor) for the throttle settings, or undefined. */
function blockDevice(): string | undefined {
  for (const name of readdirSync('/sys/block')) {
    if (/^(loop|ram|zram|nbd)/.test(name)) continue;
    try {
      return readFileSync(`/sys/block/${name}/dev`, 'utf8').trim();
    } catch {
      /* no dev file */
    }
  }
  return undefined;
}

t.test('every resource field lands in the kernel files', { skip }, async (t) => {
  const weightFile = blkioWeightFile();
  if (!weightFile) t.comment('blkio weight skipped: no blkio.weight or blkio.bfq.weight in a new blkio cgroup');
  const dev = blockDevice();
  if (!dev) t.comment('blkio throttles skipped: no block device');
  const [major, minor] = (dev ?? '0:0').split(':').map(Number);
  const resources: Resources = {
    memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 96 * MiB, swappiness: 10, kernelTCP: 16 * MiB },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' },
    pids: { limit: 50 },
    blockIO: {
      ...(weightFile ? { weight: 300 } : {}),
      ...(dev ? { throttleReadBpsDevice: [{ major, minor, rate: 4 * MiB }], throttleWriteIOPSDevice: [{ major, minor, rate: 100 }] } : {}),
    },
  };
  const c = runDetached(t, 'cat /proc/self/cgroup; exec sleep 1000', resources);
  const { pid } = state(c.id);

  const expect: Array<[string, string, string]> = [
    ['memory', 'memory.limit_in_bytes', String(64 * MiB)],
    ['memory', 'memory.soft_limit_in_bytes', String(32 * MiB)],
    ['memory', 'memory.swappiness', '10'],
    ['cpu', 'cpu.shares', '512'],
    ['cpu', 'cpu.cfs_quota_us', '50000'],
    ['cpu', 'cpu.cfs_period_us', '100000'],
    ['cpuset', 'cpuset.cpus', '0'],
    ['cpuset', 'cpuset.mems', '0'],
    ['pids', 'pids.max', '50'],
  ];
  if (existsSync(join(cgroupOf('memory', c.id), 'memory.memsw.limit_in_bytes'))) {
    expect.push(['memory', 'memory.memsw.limit_in_bytes', String(96 * MiB)]);
  } else t.comment('memory.swap not checked: no swap accounting (memory.memsw.*)');
  if (existsSync(join(cgroupOf('memory', c.id), 'memory.kmem.tcp.limit_in_bytes'))) {
    expect.push(['memory', 'memory.kmem.tcp.limit_in_bytes', String(16 * MiB)]);
  }
  if (weightFile) expect.push(['blkio', weightFile, '300']);
  if (dev) {
    expect.push(['blkio', 'blkio.throttle.read_bps_device', `${dev} ${4 * MiB}`]);
    expect.push(['blkio', 'blkio.throttle.write_iops_device', `${dev} 100`]);
  }
  for (const [ctrl, file, value] of expect) t.equal(readCg(ctrl, c.id, file), value, `${ctrl}/runt/${c.id}/${file}`);

  // Device rules: the default deny plus the standard devices, as runc writes them.
  const devices = readCg('devices', c.id, 'devices.list').split('\n');
  t.notOk(devices.includes('a *:* rwm'), 'devices: not allow-all');
  for (const rule of ['c 1:3 rwm', 'c 1:5 rwm', 'c 1:9 rwm', 'c 5:2 rwm', 'c 136:* rwm', 'c *:* m', 'b *:* m']) {
    t.ok(devices.includes(rule), `devices.list has ${rule}`);
  }

  // Every hierarchy (and the cgroup2 one on a hybrid host) holds the init.
  const dirs = [
    ...layout.v1.map((h) => join(h.mountpoint, 'runt', c.id)),
    ...(layout.unified ? [join(layout.unified.mountpoint, 'runt', c.id)] : []),
  ];
  for (const dir of dirs) t.ok(readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').includes(String(pid)), `${dir} holds the init`);

  // Inside, /proc/self/cgroup names the container's cgroup in every hierarchy.
  const inside = await waitFor('the container output', () => c.stdout().trim() || undefined);
  const lines = inside.split('\n');
  t.equal(lines.length, layout.v1.length + (layout.unified ? 1 : 0), 'one line per hierarchy');
  for (const l of lines) t.match(l, new RegExp(`^\\d+:[^:]*:/runt/${c.id}$`), `in the container's cgroup: ${l}`);

  const stats = runt(['events', '--stats', c.id]);
  ok(t, stats, 'events --stats');
  const ev = JSON.parse(stats.stdout) as { type: string; data: { memory: { usage: { limit: number } }; pids: { limit: number } } };
  t.equal(ev.data.memory.usage.limit, 64 * MiB, 'stats show the memory limit');
  t.equal(ev.data.pids.limit, 50, 'stats show the pids limit');
});

t.test('a process cannot fork past pids.limit', { skip }, async (t) => {
  // The inner shell dies at its first failed fork; the outer one reports without forking again.
  const c = runDetached(
    t,
    'sh -c "for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1000 & done"; echo "inner exit $?"; read cur < /sys/fs/cgroup/pids/pids.current; echo "current $cur"; exec sleep 1000',
    { pids: { limit: 5 } },
  );
  const out = await waitFor('the report', () => /current \d+/.test(c.stdout()) && c.stdout());
  t.match(c.stderr(), /can't fork|Resource temporarily unavailable/, 'fork failed');
  t.match(out, /inner exit [1-9]/, 'the forking shell failed');
  t.ok(Number(/current (\d+)/.exec(out)![1]) <= 5, 'never more than 5 tasks');
  t.equal(readCg('pids', c.id, 'pids.max'), '5');
  t.match(readCg('pids', c.id, 'pids.events'), /^max [1-9]/m, 'the kernel counted refused forks');
  const pids = JSON.parse(runt(['ps', '--format', 'json', c.id]).stdout) as number[];
  t.ok(pids.length >= 2 && pids.length <= 5, `ps lists the survivors (${pids.length})`);
});

t.test('a memory hog is OOM-killed and events reports it', { skip }, async (t) => {
  const id = newId();
  cleanupContainer(t, id);
  const dir = bundle(id, 'x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done', { memory: { limit: 16 * MiB, swap: 16 * MiB } });
  const created = runt(['create', '--bundle', dir, id]);
  ok(t, created, 'create');
  const events = runtBackground(['events', '--interval', '100ms', id]);
  t.teardown(() => events.kill());
  // The stream is running once the first stats event is out.
  await waitFor('the first stats event', () => readFileSync(events.stdoutFile, 'utf8').includes('"type":"stats"'));
  ok(t, runt(['start', id]), 'start');
  const code = await Promise.race([events.done, new Promise((r) => setTimeout(() => r('timeout'), 30_000))]);
  t.equal(code, 0, 'events ends with the container');
  const lines = readFileSync(events.stdoutFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; id: string });
  t.ok(
    lines.some((e) => e.type === 'stats' && e.id === id),
    'stats events',
  );
  t.same(
    lines.filter((e) => e.type === 'oom'),
    [{ type: 'oom', id }],
    'one oom event',
  );
  t.match(readCg('memory', id, 'memory.oom_control'), /^oom_kill [1-9]/m, 'the kernel counted the kill');
  t.equal(state(id).status, 'stopped');
  ok(t, runt(['delete', id]), 'delete');
  t.same(cgroupsNamed(id), [], 'no cgroup left');
});

t.test('device rules: a denied device cannot be opened', { skip: skip || noFuse }, async (t) => {
  // /dev/fuse (c 10:229) is not among the standard devices: bound into the container, only a rule
  // can make it usable. A subshell reports each open so a failure does not end the script.
  const probe =
    'for d in /dev/fuse /dev/null; do (exec 3<$d) 2>/dev/null; echo "$d read $?"; (exec 3>$d) 2>/dev/null; echo "$d write $?"; done';
  const bindFuse = bindDevice('/dev/fuse');
  const runProbe = (rules: Resources['devices']) => {
    const id = newId();
    cleanupContainer(t, id);
    const r = runt(['run', '--bundle', bundle(id, probe, { devices: rules }, bindFuse), id]);
    ok(t, r, `run ${id}`);
    return r.stdout;
  };
  const denied = runProbe([{ allow: false, access: 'rwm' }]);
  t.match(denied, /\/dev\/fuse read 1/, 'default rules: /dev/fuse cannot be opened for reading');
  t.match(denied, /\/dev\/fuse write 1/, 'nor writing');
  t.match(denied, /\/dev\/null read 0\n\/dev\/null write 0/, 'the standard devices stay usable');

  const readOnly = runProbe([
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 10, minor: 229, access: 'r' },
  ]);
  t.match(readOnly, /\/dev\/fuse read 0/, 'allow c 10:229 r: reading opens');
  t.match(readOnly, /\/dev\/fuse write 1/, 'writing is still denied');

  // The config's rules come before the standard ones, as in runc, so they cannot take /dev/null away.
  const nullDenied = runProbe([
    { allow: false, access: 'rwm' },
    { allow: false, type: 'c', major: 1, minor: 3, access: 'rw' },
  ]);
  t.match(nullDenied, /\/dev\/null read 0/, 'deny c 1:3 is overridden by the standard devices (runc does the same)');

  // The error text of a denied open, once, from the shell itself.
  const id = newId();
  cleanupContainer(t, id);
  const r = runt(['run', '--bundle', bundle(id, 'cat /dev/fuse', { devices: [{ allow: false, access: 'rwm' }] }, bindFuse), id]);
  t.not(r.code, 0, 'cat /dev/fuse fails');
  t.match(r.stderr, /Operation not permitted/, 'with EPERM');
});

t.test('update changes the device rules of a running container', { skip: skip || noFuse }, async (t) => {
  const c = runDetached(t, DEVICE_PROBE_SCRIPT, { devices: [{ allow: false, access: 'rwm' }] }, bindDevice('/dev/fuse'));
  const open = deviceProber(state(c.id).pid, c.stdout);
  t.equal(await open('/dev/fuse'), '/dev/fuse 1', 'denied at first');
  ok(
    t,
    runt(
      ['update', '--resources', '-', c.id],
      JSON.stringify({ devices: [{ allow: true, type: 'c', major: 10, minor: 229, access: 'r' }] }),
    ),
    'update allows c 10:229 r',
  );
  t.ok(readCg('devices', c.id, 'devices.list').split('\n').includes('c 10:229 r'), 'devices.list has the new rule');
  t.equal(await open('/dev/fuse'), '/dev/fuse 0', 'now it opens');
  t.equal(await open('/dev/null'), '/dev/null 0', 'the standard devices were kept');
  ok(
    t,
    runt(
      ['update', '--resources', '-', c.id],
      JSON.stringify({ devices: [{ allow: false, type: 'c', major: 10, minor: 229, access: 'rwm' }] }),
    ),
    'update denies it again',
  );
  t.equal(await open('/dev/fuse'), '/dev/fuse 1', 'denied again');
  t.notOk(readCg('devices', c.id, 'devices.list').split('\n').includes('a *:* rwm'), 'a deny-only update does not open every device');
});

t.test('pause, resume, update, ps, events --stats, kill --all, delete', { skip }, async (t) => {
  // The init (sleep 1001, pid 1 in its namespace) ignores SIGTERM; its child sleep 1000 does not.
  const c = runDetached(t, 'sleep 1000 & exec sleep 1001');
  const { id } = c;
  const init = state(id).pid;
  const pids = await waitFor('two processes', () => {
    const r = runt(['ps', '--format', 'json', id]);
    const list = r.code === 0 ? (JSON.parse(r.stdout) as number[]) : [];
    return list.length === 2 && list;
  });
  t.ok(pids.includes(init), 'ps json lists the init');
  const child = pids.find((p) => p !== init)!;

  const table = runt(['ps', id]);
  ok(t, table, 'ps');
  const rows = table.stdout.trim().split('\n');
  t.match(rows[0], /\bPID\b/, 'ps table header');
  t.equal(rows.length, 3, 'one row per process');
  t.ok(
    rows.some((r) => r.includes(String(init)) && r.includes('sleep 1001')),
    'the init row',
  );
  t.ok(
    rows.some((r) => r.includes(String(child)) && r.includes('sleep 1000')),
    'the second process row',
  );
  const custom = runt(['ps', id, '-o', 'pid,comm']);
  ok(t, custom, 'ps with ps arguments');
  t.same(
    custom.stdout
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.trim().split(/\s+/)[0]))
      .sort(),
    [...pids].sort(),
    'ps -o pid,comm filtered to the container',
  );

  // pause / resume
  ok(t, runt(['pause', id]), 'pause');
  t.equal(state(id).status, 'paused');
  t.equal(readCg('freezer', id, 'freezer.state'), 'FROZEN');
  for (const p of pids) t.equal(procState(p), 'D', `pid ${p} is frozen (D)`);
  t.not(runt(['pause', id]).code, 0, 'pausing a paused container fails');
  ok(t, runt(['resume', id]), 'resume');
  t.equal(state(id).status, 'running');
  t.equal(readCg('freezer', id, 'freezer.state'), 'THAWED');
  for (const p of pids) t.equal(procState(p), 'S', `pid ${p} sleeps again`);
  t.not(runt(['resume', id]).code, 0, 'resuming a running container fails');

  // update with runc's flags
  ok(
    t,
    runt([
      'update',
      '--memory',
      '100m',
      '--memory-swap',
      '200m',
      '--pids-limit',
      '20',
      '--cpu-shares',
      '256',
      '--cpu-quota',
      '30000',
      '--cpu-period',
      '60000',
      '--cpuset-cpus',
      '0',
      id,
    ]),
    'update with flags',
  );
  t.equal(readCg('memory', id, 'memory.limit_in_bytes'), String(100 * MiB));
  if (existsSync(join(cgroupOf('memory', id), 'memory.memsw.limit_in_bytes')))
    t.equal(readCg('memory', id, 'memory.memsw.limit_in_bytes'), String(200 * MiB));
  t.equal(readCg('pids', id, 'pids.max'), '20');
  t.equal(readCg('cpu', id, 'cpu.shares'), '256');
  t.equal(readCg('cpu', id, 'cpu.cfs_quota_us'), '30000');
  t.equal(readCg('cpu', id, 'cpu.cfs_period_us'), '60000');
  t.equal(readCg('cpuset', id, 'cpuset.cpus'), '0');

  // update --resources - (stdin, as containerd calls it) and --resources FILE (as podman does)
  ok(
    t,
    runt(['update', '--resources', '-', id], JSON.stringify({ memory: { limit: 48 * MiB }, pids: { limit: 30 } })),
    'update --resources -',
  );
  t.equal(readCg('memory', id, 'memory.limit_in_bytes'), String(48 * MiB));
  t.equal(readCg('pids', id, 'pids.max'), '30');
  const file = join(work, `resources-${id}.json`);
  writeFileSync(file, JSON.stringify({ cpu: { shares: 768 } }));
  ok(t, runt(['update', `--resources=${file}`, id]), 'update --resources=FILE');
  t.equal(readCg('cpu', id, 'cpu.shares'), '768');
  ok(t, runt(['update', id, '--resources', file, '--pids-limit', '31']), 'update ID --resources FILE plus a flag');
  t.equal(readCg('pids', id, 'pids.max'), '31');

  const bad = runt(['update', '--memory', '-5', id]);
  t.not(bad.code, 0, 'update with a negative memory fails');
  t.match(bad.stderr.trim(), /^[^\n]*linux\.resources\.memory\.limit[^\n]*$/, 'one line naming the field');
  t.equal(readCg('memory', id, 'memory.limit_in_bytes'), String(48 * MiB), 'the limit is unchanged');

  // events --stats: one JSON line
  const stats = runt(['events', '--stats', id]);
  ok(t, stats, 'events --stats');
  const lines = stats.stdout.trim().split('\n');
  t.equal(lines.length, 1, 'one line');
  const ev = JSON.parse(lines[0]) as { type: string; id: string; data: Record<string, Record<string, unknown>> };
  t.equal(ev.type, 'stats');
  t.equal(ev.id, id);
  t.ok(ev.data.cpu?.usage, 'cpu section');
  t.ok(ev.data.memory?.usage, 'memory section');
  t.match(ev.data.pids, { current: 2, limit: 31 }, 'pids section');
  t.notMatch(stats.stdout, /9223372036854772000|18446744073709552000/, 'large limits are printed exactly, not rounded');

  // kill without --all reaches only the init, which ignores SIGTERM; --all reaches the child too.
  ok(t, runt(['kill', id, 'TERM']), 'kill TERM');
  await new Promise((r) => setTimeout(r, 200));
  t.ok(alive(init) && alive(child), 'SIGTERM to the init alone changes nothing');
  ok(t, runt(['kill', '--all', id, 'TERM']), 'kill --all TERM');
  await waitFor('the child to die', () => !alive(child));
  t.ok(alive(init), 'the init ignored it');
  ok(t, runt(['kill', '--all', id, 'KILL']), 'kill --all KILL');
  await waitFor('the container to stop', () => state(id).status === 'stopped');

  ok(t, runt(['delete', id]), 'delete');
  t.same(cgroupsNamed(id), [], 'no cgroup left in any hierarchy');
  t.notOk(existsSync(join(stateRoot, id)), 'no state directory');
});

t.test('a created container can be paused, resumed and then started', { skip }, async (t) => {
  const id = newId();
  cleanupContainer(t, id);
  const created = runt(['create', '--bundle', bundle(id, 'echo started'), id]);
  ok(t, created, 'create');
  ok(t, runt(['pause', id]), 'pause a created container');
  t.equal(readCg('freezer', id, 'freezer.state'), 'FROZEN');
  ok(t, runt(['resume', id]), 'resume it');
  t.equal(readCg('freezer', id, 'freezer.state'), 'THAWED');
  t.not(runt(['resume', id]).code, 0, 'a second resume fails');
  ok(t, runt(['start', id]), 'start');
  await waitFor('the container to stop', () => state(id).status === 'stopped');
  ok(t, runt(['delete', id]), 'delete');
  t.same(cgroupsNamed(id), [], 'no cgroup left');
});

t.test('delete --force removes running and paused containers with their cgroups', { skip }, async (t) => {
  for (const paused of [false, true]) {
    const c = runDetached(t, 'sleep 1000 & exec sleep 1001');
    const pids = await waitFor('two processes', () => {
      const list = JSON.parse(runt(['ps', '--format', 'json', c.id]).stdout || '[]') as number[];
      return list.length === 2 && list;
    });
    if (paused) ok(t, runt(['pause', c.id]), 'pause');
    t.not(runt(['delete', c.id]).code, 0, `delete without --force refuses a ${paused ? 'paused' : 'running'} container`);
    ok(t, runt(['delete', '--force', c.id]), `delete --force (${paused ? 'paused' : 'running'})`);
    for (const p of pids) t.notOk(alive(p), `pid ${p} is gone`);
    t.same(cgroupsNamed(c.id), [], 'no cgroup left in any hierarchy');
    t.notOk(existsSync(join(stateRoot, c.id)), 'no state directory');
    ok(t, runt(['delete', '--force', c.id]), 'a second delete --force exits 0');
  }
});

t.test('bad resource values fail before anything is created', { skip }, async (t) => {
  const cases: Array<[string, Resources, RegExp]> = [
    ['negative memory', { memory: { limit: -5 } }, /linux\.resources\.memory\.limit/],
    ['cpuset out of range', { cpu: { cpus: '0-99999' } }, /linux\.resources\.cpu\.cpus/],
    ['unknown device type', { devices: [{ allow: false, type: 'x' as 'c', access: 'rwm' }] }, /linux\.resources\.devices\[0\]\.type/],
    ['negative pids limit', { pids: { limit: -7 } }, /linux\.resources\.pids\.limit/],
    ['blkio weight out of range', { blockIO: { weight: 5 } }, /linux\.resources\.blockIO\.weight/],
    ['cpus not on this host', { cpu: { cpus: '4000-4003' } }, /linux\.resources\.cpu\.cpus: 4000-4003 not available/],
    ['unmounted controller', { network: { classID: 5 } }, /linux\.resources\.network\.classID/],
  ];
  for (const [what, resources, field] of cases) {
    const id = newId();
    cleanupContainer(t, id);
    const r = runt(['run', '--bundle', bundle(id, 'echo should not run', resources), id]);
    t.not(r.code, 0, `${what}: non-zero exit`);
    t.equal(r.stdout, '', `${what}: the process never ran`);
    t.match(r.stderr.trim(), field, `${what}: the error names the field`);
    t.equal(r.stderr.trim().split('\n').length, 1, `${what}: one line (${r.stderr.trim()})`);
    t.notOk(existsSync(join(stateRoot, id)), `${what}: no state directory`);
    t.same(cgroupsNamed(id), [], `${what}: no cgroup`);
  }
});

t.test('statsJson prints integers beyond 2^53 exactly, as runc does', async (t) => {
  t.equal(statsJson({ limit: 2 ** 64 - 1 }), '{"limit":18446744073709551615}', 'MaxUint64 (v2 "max")');
  t.equal(statsJson({ limit: 9223372036854771712 }), '{"limit":9223372036854771712}', 'the v1 "no limit" value');
  t.equal(statsJson({ a: [1, 2.5, -(2 ** 60)], s: 'x', n: null }), '{"a":[1,2.5,-1152921504606846976],"s":"x","n":null}');
});
