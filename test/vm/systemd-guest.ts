// Runs inside the systemd guest of cgroups-systemd-vm.test.ts (a Debian root with systemd as PID 1),
// started by a oneshot unit once the system bus is up. One Node process runs containers through
// runt's library with the systemd cgroup driver, and reads back what systemd shows (systemctl show)
// and what the kernel shows (the scope's cgroup files). The results go out through
// ./guest-results.ts; the host test asserts each of them.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { text } from 'node:stream/consumers';
import { join } from 'node:path';
import { Runtime } from '../../src/runtime.js';
import { native } from '../../src/native.js';
import { defaultSpec } from '../../src/spec/default.js';
import type { Resources, Spec } from '../../src/spec/types.js';
import { check, finish, group, runGroups } from './guest-results.js';

const ROOTFS = process.env.ROOTFS ?? '/tmp/rootfs';
const REPO = process.env.REPO ?? '/mnt/repo';
const CG = '/sys/fs/cgroup';
const MiB = 1024 * 1024;

const read = (cgroup: string, file: string) => readFileSync(join(CG, cgroup, file), 'utf8').trim();

/** `systemctl show` of a unit as an object (only the properties asked for). */
function show(unit: string, props: string[]): Record<string, string> {
  const out = execFileSync('systemctl', ['show', unit, ...props.flatMap((p) => ['-p', p])], { encoding: 'utf8' });
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

function spec(args: string, cgroupsPath: string | undefined, resources: Resources = {}, annotations?: Record<string, string>): Spec {
  const s = defaultSpec();
  s.root = { path: ROOTFS, readonly: true };
  s.process!.terminal = false;
  s.process!.args = ['sh', '-c', args];
  if (cgroupsPath === undefined) delete s.linux!.cgroupsPath;
  else s.linux!.cgroupsPath = cgroupsPath;
  s.linux!.resources = { ...s.linux!.resources, ...resources };
  if (annotations) s.annotations = annotations;
  return s;
}

function devicePrograms(cgroup: string): number {
  const fd = openSync(join(CG, cgroup), 'r');
  try {
    return native().queryDeviceFilters(fd);
  } finally {
    closeSync(fd);
  }
}

/** Every scope of runt's prefixes systemd knows of. */
const runtUnits = () =>
  execFileSync('systemctl', ['list-units', '--all', '--plain', '--no-legend', 'runt-*.scope', 'ctr-*.scope'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter(Boolean);

const rt = new Runtime({ root: '/run/runt', cgroupManager: 'systemd' });

group('host', async () => {
  check('systemd is PID 1', readFileSync('/proc/1/comm', 'utf8').trim(), 'systemd');
  check(
    'cgroup2 is mounted by systemd',
    readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => / \/sys\/fs\/cgroup .* - cgroup2 /.test(l)),
    true,
  );
});

group('scope', async () => {
  const unit = 'runt-sd1.scope';
  const g = `system.slice/${unit}`;
  const resources: Resources = {
    memory: { limit: 64 * MiB, reservation: 8 * MiB },
    cpu: { shares: 1024, quota: 50_000, period: 100_000, burst: 1000, cpus: '0' },
    pids: { limit: 40 },
    unified: { 'memory.high': String(48 * MiB) },
  };
  const annotations = { 'org.systemd.property.TimeoutStopSec': '20', 'org.systemd.property.CollectMode': "'inactive-or-failed'" };
  const c = await rt.create('sd1', spec('exec sleep 1000', 'system.slice:runt:sd1', resources, annotations), { stdio: 'ignore' });
  await c.start();
  const p = show(unit, [
    'ActiveState',
    'Slice',
    'Delegate',
    'ControlGroup',
    'MemoryMax',
    'MemoryLow',
    'MemoryHigh',
    'TasksMax',
    'CPUWeight',
    'CPUQuotaPerSecUSec',
    'CPUQuotaPeriodUSec',
    'AllowedCPUs',
    'TimeoutStopUSec',
    'CollectMode',
    'MainPID',
    'Description',
  ]);
  check('systemctl show: the scope is active', p.ActiveState, 'active');
  check('systemctl show: Slice', p.Slice, 'system.slice');
  check('systemctl show: Delegate', p.Delegate, 'yes');
  check('systemctl show: ControlGroup', p.ControlGroup, `/${g}`);
  check('systemctl show: MemoryMax', p.MemoryMax, String(64 * MiB));
  check('systemctl show: MemoryLow', p.MemoryLow, String(8 * MiB));
  check('systemctl show: MemoryHigh (unified)', p.MemoryHigh, String(48 * MiB));
  check('systemctl show: TasksMax', p.TasksMax, '40');
  check('systemctl show: CPUWeight (shares 1024)', p.CPUWeight, '39');
  check('systemctl show: CPUQuotaPerSecUSec', p.CPUQuotaPerSecUSec, '500ms');
  check('systemctl show: CPUQuotaPeriodUSec', p.CPUQuotaPeriodUSec, '100ms');
  check('systemctl show: AllowedCPUs', p.AllowedCPUs, '0');
  check('systemctl show: annotation TimeoutStopSec', p.TimeoutStopUSec, '20s');
  check('systemctl show: annotation CollectMode', p.CollectMode, 'inactive-or-failed');
  check('systemctl show: Description', p.Description, 'runt container sd1');
  check('scope cgroup: cgroup.procs is the init', read(g, 'cgroup.procs'), String(c.pid));
  check('scope cgroup: memory.max', read(g, 'memory.max'), String(64 * MiB));
  check('scope cgroup: memory.high', read(g, 'memory.high'), String(48 * MiB));
  check('scope cgroup: pids.max', read(g, 'pids.max'), '40');
  check('scope cgroup: cpu.max (exact, written by runt)', read(g, 'cpu.max'), '50000 100000');
  check('scope cgroup: cpu.max.burst (no systemd property: written by runt)', read(g, 'cpu.max.burst'), '1000');
  check('scope cgroup: cpu.weight', read(g, 'cpu.weight'), '39');
  check('scope cgroup: cpuset.cpus', read(g, 'cpuset.cpus'), '0');
  check("scope cgroup: one device program (runt's)", devicePrograms(g), 1);
  check('the init sees its scope', readFileSync(`/proc/${c.pid}/cgroup`, 'utf8').trim(), `0::/${g}`);

  c.update({ memory: { limit: 128 * MiB }, pids: { limit: 60 } });
  const u = show(unit, ['MemoryMax', 'TasksMax']);
  check('update: systemd MemoryMax', u.MemoryMax, String(128 * MiB));
  check('update: systemd TasksMax', u.TasksMax, '60');
  check('update: memory.max', read(g, 'memory.max'), String(128 * MiB));
  check('update: pids.max', read(g, 'pids.max'), '60');

  const ex = await c.exec(
    { args: ['sh', '-c', 'cat /proc/self/cgroup'], cwd: '/', user: { uid: 0, gid: 0 } },
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  // Read to the end before waiting: the pipe may close before wait() settles, and a 'close'
  // listener added after that would never fire.
  const output = text(ex.stdout!);
  await ex.wait();
  const out = await output;
  check('exec: the process is in the scope', out.trim(), `0::/${g}`);

  c.pause();
  check('pause: cgroup.freeze', read(g, 'cgroup.freeze'), '1');
  c.resume();
  check('resume: cgroup.freeze', read(g, 'cgroup.freeze'), '0');
  check('stats: pids', (c.stats() as { pids: { current: number } }).pids.current, 1);

  // A second container asking for the same scope.
  let msg = '';
  try {
    await rt.create('sd1b', spec('true', 'system.slice:runt:sd1'), { stdio: 'ignore' });
  } catch (e) {
    msg = (e as Error).message;
  }
  check('a unit that exists: one line naming it', msg, 'linux.cgroupsPath: systemd unit runt-sd1.scope already exists (active)');
  check(
    'a unit that exists: no state for the second',
    rt.list().map((x) => x.id),
    ['sd1'],
  );
  check('a unit that exists: the first is untouched', show(unit, ['ActiveState']).ActiveState, 'active');

  c.kill('SIGKILL');
  await c.wait();
  await c.delete();
  check('delete: systemd no longer has the unit', show(unit, ['LoadState']).LoadState, 'not-found');
  check('delete: the scope cgroup is gone', existsSync(join(CG, g)), false);
});

group('default path and other slices', async () => {
  const c = await rt.create('sd2', spec('exec sleep 1000', undefined, { pids: { limit: 11 } }), { stdio: 'ignore' });
  check('no cgroupsPath: system.slice/runt-<id>.scope', read('system.slice/runt-sd2.scope', 'pids.max'), '11');
  await c.delete({ force: true });
  check('delete --force: unit gone', show('runt-sd2.scope', ['LoadState']).LoadState, 'not-found');
  const slice = 'machine.slice';
  const d = await rt.create('sd3', spec('exec sleep 1000', `${slice}:ctr:sd3`), { stdio: 'ignore' });
  check('machine.slice:ctr:sd3 -> machine.slice/ctr-sd3.scope', existsSync(join(CG, 'machine.slice/ctr-sd3.scope/cgroup.procs')), true);
  await d.delete({ force: true });
  check('machine.slice scope gone', existsSync(join(CG, 'machine.slice/ctr-sd3.scope')), false);
});

group('bad input', async () => {
  const attempt = async (id: string, path: string) => {
    try {
      await rt.create(id, spec('true', path), { stdio: 'ignore' });
      return 'created';
    } catch (e) {
      return (e as Error).message;
    }
  };
  check(
    'a slice that does not exist: one line',
    await attempt('bad1', 'nosuch.slice:runt:bad1'),
    'linux.cgroupsPath: systemd has no slice nosuch.slice (no unit file, not active)',
  );
  check('a slice that does not exist: no unit', show('runt-bad1.scope', ['LoadState']).LoadState, 'not-found');
  check(
    'a cgroupsPath that is not slice:prefix:name',
    await attempt('bad2', '/plain/path'),
    'linux.cgroupsPath: expected "slice:prefix:name" with the systemd cgroup driver, got "/plain/path"',
  );
  check(
    'not a slice name',
    await attempt('bad3', 'system:runt:bad3'),
    'linux.cgroupsPath: "system" is not a slice name (like system.slice or machine-app.slice)',
  );
  check(
    'bad input: no state left',
    rt.list().map((x) => x.id),
    [],
  );

  // The CLI, with systemd not answering (the bus address points nowhere) and then for real.
  const bundle = '/tmp/bundle';
  mkdirSync(bundle, { recursive: true });
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec('true', 'system.slice:runt:cli1')));
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [join(REPO, 'bin/runt.cjs'), '--root', '/run/runt-cli', ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      timeout: 120_000,
    });
  const down = cli(['--systemd-cgroup', 'run', '--bundle', bundle, 'cli1'], { DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/run/nothing-here' });
  check('no system bus: non-zero exit', down.status !== 0, true);
  check(
    'no system bus: one line naming the cause',
    down.stderr.trim().split('\n').length === 1 && /cannot reach systemd on the system bus .*nothing-here.*ENOENT/.test(down.stderr)
      ? 'one line'
      : down.stderr,
    'one line',
  );
  check('no system bus: no state', existsSync('/run/runt-cli/cli1'), false);
  // A bus that accepts the connection and never answers (the kernel queues it; nobody reads).
  const silent = createServer(() => {}).listen('/run/silent.sock');
  await new Promise((r) => silent.once('listening', r));
  const hung = cli(['--systemd-cgroup', 'run', '--bundle', bundle, 'cli1'], {
    DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/run/silent.sock',
    RUNT_SYSTEMD_TIMEOUT_MS: '4000',
  });
  silent.close();
  check('systemd not answering: non-zero exit', hung.status !== 0, true);
  check('systemd not answering: one line', hung.stderr.trim(), 'systemd: loading system.slice: systemd did not answer within 4 s');
  check('systemd not answering: no state', existsSync('/run/runt-cli/cli1'), false);
  const up = cli(['--systemd-cgroup', 'run', '--bundle', bundle, 'cli1']);
  check('runt --systemd-cgroup run: exit 0', { status: up.status, stderr: up.stderr }, { status: 0, stderr: '' });
  check(
    'runt --systemd-cgroup run: nothing left',
    { unit: show('runt-cli1.scope', ['LoadState']).LoadState, state: existsSync('/run/runt-cli/cli1') },
    { unit: 'not-found', state: false },
  );
});

group('podman', async () => {
  // podman with its systemd cgroup manager and runt as the runtime: conmon calls runt create with
  // --systemd-cgroup and cgroupsPath "machine.slice:libpod:<id>". --rootfs needs no image; storage of its own in /tmp, vfs (the guest has no overlay module).
  writeFileSync('/tmp/runt', `#!/bin/sh\nexec ${process.execPath} ${join(REPO, 'bin/runt.cjs')} "$@"\n`, { mode: 0o755 });
  const podman = (args: string[]) =>
    spawnSync(
      'podman',
      [
        '--cgroup-manager',
        'systemd',
        '--runtime',
        '/tmp/runt',
        '--root',
        '/tmp/podman/root',
        '--runroot',
        '/tmp/podman/run',
        '--storage-driver',
        'vfs',
        ...args,
      ],
      { encoding: 'utf8', timeout: 180_000 },
    );
  const r = podman(['run', '--rm', '--network', 'none', '--cgroupns', 'host', '--rootfs', ROOTFS, 'cat', '/proc/self/cgroup']);
  check('podman run: exit 0', { status: r.status, stderr: r.status === 0 ? '' : r.stderr }, { status: 0, stderr: '' });
  check(
    'podman run: the container is in machine.slice/libpod-<id>.scope',
    /^0::\/machine\.slice\/libpod-[0-9a-f]{64}\.scope$/.test(r.stdout.trim()) ? 'yes' : r.stdout,
    'yes',
  );
  const m = podman([
    'run',
    '--rm',
    '--network',
    'none',
    '--memory',
    '64m',
    '--pids-limit',
    '33',
    '--rootfs',
    ROOTFS,
    'sh',
    '-c',
    'cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max',
  ]);
  check("podman run --memory --pids-limit: the limits in the container's cgroup", m.stdout.trim().split('\n'), [String(64 * MiB), '33']);
  const left = execFileSync('systemctl', ['list-units', '--all', '--plain', '--no-legend', 'libpod-*.scope'], { encoding: 'utf8' }).trim();
  check('podman run --rm: no libpod scope left', left, '');
});

await runGroups(async () => {
  for (const c of rt.list()) await rt.delete(c.id, { force: true }).catch(() => undefined);
});
check('cleanup: no runt unit left', runtUnits(), []);
check(
  'cleanup: no runt scope directory left',
  ['system.slice', 'machine.slice'].flatMap((sl) =>
    (existsSync(join(CG, sl)) ? readdirSync(join(CG, sl)) : []).filter((d) => d.endsWith('.scope')),
  ),
  [],
);
finish();
