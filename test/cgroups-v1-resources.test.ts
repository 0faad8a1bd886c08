// linux.resources written by the v1 driver into this host's real hierarchies, read back from the
// kernel's files. Everything is created under /runt-test-<pid>-<n> and removed in teardown.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CgroupError, PlanError } from '../src/errors.js';
import { createCgroupManager, withDefaultDeviceRules } from '../src/cgroups/index.js';
import type { CgroupManager } from '../src/cgroups/index.js';

let serial = 0;

/** fn throws an error of class `type` whose message matches `message`. */
function throwsField(t: Test, fn: () => void, type: new (...a: never[]) => Error, message: RegExp): void {
  try {
    fn();
    t.fail(`expected ${type.name} matching ${message}`);
  } catch (e) {
    t.ok(e instanceof type, `${(e as Error).name} is a ${type.name}`);
    t.match((e as Error).message, message);
  }
}

function read(dir: string, file: string): string {
  return readFileSync(join(dir, file), 'utf8').trim();
}

/** A fresh container cgroup, destroyed (after killing the test's own children in it) at teardown. */
function freshCgroup(t: Test): CgroupManager {
  const m = createCgroupManager({ id: 'x', cgroupsPath: `/runt-test-${process.pid}-r${++serial}` });
  t.teardown(async () => {
    try {
      if (m.isFrozen()) m.thaw();
      for (const pid of m.pids()) process.kill(pid, 'SIGKILL');
      for (let i = 0; i < 200 && m.pids().length; i++) await new Promise((r) => setTimeout(r, 10));
      m.destroy();
    } catch (e) {
      t.fail(`cleanup: ${(e as Error).message}`);
    }
  });
  m.create();
  return m;
}

const MiB = 1024 * 1024;

t.test('memory', async (t) => {
  const m = freshCgroup(t);
  const dir = m.paths.memory;
  m.apply({
    memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 128 * MiB, swappiness: 10, disableOOMKiller: true, useHierarchy: true },
  });
  t.equal(read(dir, 'memory.limit_in_bytes'), String(64 * MiB));
  t.equal(read(dir, 'memory.soft_limit_in_bytes'), String(32 * MiB));
  if (existsSync(join(dir, 'memory.memsw.limit_in_bytes'))) t.equal(read(dir, 'memory.memsw.limit_in_bytes'), String(128 * MiB));
  t.equal(read(dir, 'memory.swappiness'), '10');
  t.match(read(dir, 'memory.oom_control'), /oom_kill_disable 1/);
  // Raising past the current memsw limit needs memsw written first; lowering needs the reverse.
  m.apply({ memory: { limit: 256 * MiB, swap: 512 * MiB } });
  t.equal(read(dir, 'memory.limit_in_bytes'), String(256 * MiB));
  m.apply({ memory: { limit: 16 * MiB, swap: 32 * MiB } });
  t.equal(read(dir, 'memory.limit_in_bytes'), String(16 * MiB));
  m.apply({ memory: { limit: -1 } });
  t.ok(Number(read(dir, 'memory.limit_in_bytes')) > 2 ** 60, '-1 lifts the limit (and memsw with it)');
  if (existsSync(join(dir, 'memory.kmem.tcp.limit_in_bytes'))) {
    m.apply({ memory: { kernelTCP: 100 * MiB } });
    t.equal(read(dir, 'memory.kmem.tcp.limit_in_bytes'), String(100 * MiB));
  } else {
    t.comment('this kernel has no memory.kmem.tcp.limit_in_bytes: kernelTCP only warns');
  }
  t.throws(() => m.apply({ memory: { limit: -5 } }), { message: 'linux.resources.memory.limit: must be positive (or -1 for no limit)' });
  t.throws(() => m.apply({ memory: { limit: 64 * MiB, swap: 32 * MiB } }), /linux\.resources\.memory\.swap: must be at least/);
  t.throws(() => m.apply({ memory: { swappiness: 101 } }), /linux\.resources\.memory\.swappiness: must be at most 100/);
});

t.test('memory checkBeforeUpdate refuses a limit below the usage', async (t) => {
  const m = freshCgroup(t);
  // The shell joins first, then fills a 4 MB variable: that memory is charged to the new cgroup.
  const sh = spawn('/bin/sh', ['-c', 'read go; x=$(head -c 4000000 /dev/zero | tr "\\0" a); echo ready; read stop'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  t.teardown(() => sh.kill('SIGKILL'));
  m.join(sh.pid!);
  const ready = new Promise((resolve) => sh.stdout!.on('data', resolve));
  sh.stdin!.write('go\n');
  await ready;
  const usage = Number(read(m.paths.memory, 'memory.usage_in_bytes'));
  t.ok(usage > 4000000, `usage ${usage}`);
  throwsField(
    t,
    () => m.apply({ memory: { limit: 1024 * 1024, checkBeforeUpdate: true } }),
    CgroupError,
    /^linux\.resources\.memory\.limit: 1048576 is below the current usage \(\d+\)$/,
  );
  t.not(read(m.paths.memory, 'memory.limit_in_bytes'), '1048576', 'limit untouched');
  m.apply({ memory: { limit: 64 * MiB, checkBeforeUpdate: true } });
  t.equal(read(m.paths.memory, 'memory.limit_in_bytes'), String(64 * MiB));
});

t.test('cpu and cpuset', async (t) => {
  const m = freshCgroup(t);
  const cpu = m.paths.cpu;
  m.apply({ cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0', idle: 0 } });
  t.equal(read(cpu, 'cpu.shares'), '512');
  t.equal(read(cpu, 'cpu.cfs_quota_us'), '50000');
  t.equal(read(cpu, 'cpu.cfs_period_us'), '100000');
  t.equal(read(cpu, 'cpu.idle'), '0');
  t.equal(read(m.paths.cpuset, 'cpuset.cpus'), '0');
  t.equal(read(m.paths.cpuset, 'cpuset.mems'), '0');
  if (existsSync(join(cpu, 'cpu.cfs_burst_us'))) {
    m.apply({ cpu: { quota: 50000, burst: 10000 } });
    t.equal(read(cpu, 'cpu.cfs_burst_us'), '10000');
  } else {
    t.comment('this kernel has no cpu.cfs_burst_us');
  }
  // A shorter period with a quota the old period would refuse: the writes are reordered.
  m.apply({ cpu: { quota: 20000, period: 10000 } });
  t.equal(read(cpu, 'cpu.cfs_period_us'), '10000');
  m.apply({ cpu: { quota: -1 } });
  t.equal(read(cpu, 'cpu.cfs_quota_us'), '-1');
  m.apply({ cpu: { idle: 1 } });
  t.equal(read(cpu, 'cpu.idle'), '1');
  m.apply({ cpu: { realtimePeriod: 1000000, realtimeRuntime: 1000 } });
  t.equal(read(cpu, 'cpu.rt_period_us'), '1000000');
  t.equal(read(cpu, 'cpu.rt_runtime_us'), '1000');
  // More runtime than the period (and than the parent grants): the kernel refuses, the error names the field.
  throwsField(
    t,
    () => m.apply({ cpu: { realtimeRuntime: 2000000 } }),
    CgroupError,
    /^linux\.resources\.cpu\.realtimeRuntime: writing "2000000" to .*cpu\.rt_runtime_us: EINVAL$/,
  );
  m.apply({ cpu: { realtimeRuntime: 0 } });
  throwsField(
    t,
    () => m.apply({ cpu: { cpus: '0-63' } }),
    PlanError,
    /^linux\.resources\.cpu\.cpus: \d+-63 not available \(the parent cgroup has [\d,-]+\)$/,
  );
  t.throws(() => m.apply({ cpu: { cpus: '1-0' } }), /linux\.resources\.cpu\.cpus: range 1-0 runs backwards/);
  t.throws(() => m.apply({ cpu: { shares: 1 } }), /linux\.resources\.cpu\.shares: must be between 2 and 262144/);
  t.throws(() => m.apply({ cpu: { quota: 1000, burst: 2000 } }), /linux\.resources\.cpu\.burst/);
});

t.test('pids.limit is written and stops a fork', async (t) => {
  const m = freshCgroup(t);
  m.apply({ pids: { limit: 10 } });
  t.equal(read(m.paths.pids, 'pids.max'), '10');
  m.apply({ pids: { limit: -1 } });
  t.equal(read(m.paths.pids, 'pids.max'), 'max');
  m.apply({ pids: { limit: 2 } });
  // The shell waits for a line, so it is in the cgroup before it forks.
  const sh = spawn('/bin/sh', ['-c', 'read go; sleep 30 & sleep 30 & sleep 30 & wait'], { stdio: ['pipe', 'ignore', 'pipe'] });
  t.teardown(() => sh.kill('SIGKILL'));
  let stderr = '';
  sh.stderr!.on('data', (d) => (stderr += d));
  m.join(sh.pid!);
  sh.stdin!.write('go\n');
  for (let i = 0; i < 100 && !/max [1-9]/.test(read(m.paths.pids, 'pids.events')); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(read(m.paths.pids, 'pids.events'), /max [1-9]/, 'the kernel refused a fork');
  t.ok(m.pids().length <= 2, `at most 2 tasks (${m.pids().length})`);
  t.comment(`shell said: ${stderr.trim()}`);
});

t.test('blkio', async (t) => {
  const m = freshCgroup(t);
  const dir = m.paths.blkio;
  const [major, minor] = readFileSync('/sys/block/vda/dev', 'utf8').trim().split(':').map(Number);
  m.apply({ blockIO: { throttleReadBpsDevice: [{ major, minor, rate: MiB }], throttleWriteIOPSDevice: [{ major, minor, rate: 100 }] } });
  t.equal(read(dir, 'blkio.throttle.read_bps_device'), `${major}:${minor} ${MiB}`);
  t.equal(read(dir, 'blkio.throttle.write_iops_device'), `${major}:${minor} 100`);
  const weightFile = ['blkio.weight', 'blkio.bfq.weight'].find((f) => existsSync(join(dir, f)));
  if (weightFile) {
    m.apply({ blockIO: { weight: 300 } });
    t.match(read(dir, weightFile), /(^|default )300$/m, `${weightFile} is 300`);
  } else {
    t.comment('this kernel has neither blkio.weight nor blkio.bfq.weight');
    t.throws(() => m.apply({ blockIO: { weight: 300 } }), /linux\.resources\.blockIO\.weight/);
  }
  t.throws(() => m.apply({ blockIO: { weight: 5 } }), /linux\.resources\.blockIO\.weight: must be between 10 and 1000/);
});

t.test('devices', async (t) => {
  const m = freshCgroup(t);
  const dir = m.paths.devices;
  const list = () => read(dir, 'devices.list').split('\n').sort();
  m.apply({
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 5, access: 'rw' },
    ],
  });
  t.same(list(), ['c 1:3 rwm', 'c 1:5 rw']);
  // An update with a different allow-list writes only the difference.
  m.apply({
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
      { allow: true, type: 'b', major: 8, access: 'm' },
    ],
  });
  t.same(list(), ['b 8:* m', 'c 1:3 r']);
  const withDefaults = withDefaultDeviceRules({ devices: [{ allow: false, access: 'rwm' }] }, [{ type: 'c', major: 10, minor: 229 }]);
  m.apply(withDefaults);
  t.ok(
    list().includes('c 1:3 rwm') && list().includes('c 136:* rwm') && list().includes('c 10:229 rwm'),
    'defaults and linux.devices allowed',
  );
  m.apply({ devices: [{ allow: true, access: 'rwm' }] });
  t.same(list(), ['a *:* rwm']);
  t.throws(() => m.apply({ devices: [{ allow: true, type: 'x' }] }), {
    message: 'linux.resources.devices[0].type: unknown device type "x" (a, c or b)',
  });
  t.throws(() => m.apply({ devices: [{ allow: true, type: 'c', access: 'rwx' }] }), /linux\.resources\.devices\[0\]\.access/);
});

t.test('what this host lacks is an error naming the field', async (t) => {
  const m = createCgroupManager({ id: 'x', cgroupsPath: `/runt-test-${process.pid}-never` });
  // Validation and missing hierarchies fail before any directory is needed.
  if (!m.paths.hugetlb)
    t.throws(
      () => m.apply({ hugepageLimits: [{ pageSize: '2MB', limit: 0 }] }),
      /^linux\.resources\.hugepageLimits\[0\]: the hugetlb cgroup hierarchy is not mounted/,
    );
  if (!m.paths.net_cls) t.throws(() => m.apply({ network: { classID: 1 } }), /^linux\.resources\.network\.classID: the net_cls/);
  if (!m.paths.rdma) t.throws(() => m.apply({ rdma: { mlx5_0: { hcaHandles: 1 } } }), /^linux\.resources\.rdma\.mlx5_0: the rdma/);
  t.throws(() => m.apply({ hugepageLimits: [{ pageSize: '2M', limit: 0 }] }), /linux\.resources\.hugepageLimits\[0\]\.pageSize/);
  t.throws(() => m.apply({ pids: { limit: -2 } }), /linux\.resources\.pids\.limit/);
  t.throws(() => m.apply({ memory: 5 } as never), /linux\.resources\.memory: must be an object/);
  t.notOk(existsSync(m.paths.memory), 'nothing was created');
});

t.test('unified keys on this hybrid host', async (t) => {
  const m = freshCgroup(t);
  t.throws(
    () => m.apply({ unified: { 'memory.max': '1000000' } }),
    /^linux\.resources\.unified\["memory\.max"\]: the cgroup2 mount of this hybrid host has no memory\.max/,
  );
  t.throws(() => m.apply({ unified: { '../x': '1' } }), /linux\.resources\.unified\["\.\.\/x"\]: is not a cgroup file name/);
});

t.test('stats in runc events --stats shape', async (t) => {
  const m = freshCgroup(t);
  m.apply({ pids: { limit: 50 }, memory: { limit: 64 * MiB } });
  const child = spawn('sleep', ['300'], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  m.join(child.pid!);
  const s = m.stats() as Record<string, Record<string, unknown>>;
  t.same(s.pids, { current: 1, limit: 50 });
  const mem = s.memory as { usage: { limit: number; usage: number; failcnt: number }; raw: Record<string, number> };
  t.equal(mem.usage.limit, 64 * MiB);
  t.type(mem.usage.usage, 'number');
  t.ok('rss' in mem.raw || 'total_rss' in mem.raw, 'memory.stat as raw');
  const cpu = s.cpu as { usage: { total: number; percpu: number[]; kernel: number; user: number }; throttling: object };
  t.type(cpu.usage.total, 'number');
  t.equal(cpu.usage.percpu.length, 2, 'one entry per CPU');
  t.same(Object.keys(cpu.throttling).sort(), ['periods', 'throttledPeriods', 'throttledTime']);
  t.same((s.cpuset as { cpus: number[] }).cpus, [0, 1]);
  t.ok(Array.isArray((s.blkio as { ioServiceBytesRecursive: unknown[] }).ioServiceBytesRecursive));
  t.same(s.hugetlb, {}, 'no hugetlb hierarchy here');
  t.doesNotThrow(() => JSON.stringify(s));
});
