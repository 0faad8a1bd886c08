// cgroups are planned like the rest: `runt explain` shows the writes that `create` carries out.
// For a config that uses every linux.resources field, explain's cgroup section (planned without
// reading the host) equals the writes the applier records over a fake cgroupfs laid out like a
// kernel that has every file, for v1 (hybrid, with the cgroup2 mount) and v2. Then the controller
// list covers every key of linux.resources. (Import cycles: test/structure-imports.test.ts.)
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCgroupManager, withDefaultDeviceRules } from '../src/cgroups/index.js';
import { applyCgroupWrites, fsWriter, type CgroupWriter } from '../src/cgroups/apply.js';
import { CONTROLLERS } from '../src/cgroups/controllers/index.js';
import { explainBundle } from '../src/explain/index.js';
import { defaultSpec } from '../src/spec/default.js';
import type { Resources, Spec } from '../src/spec/types.js';

const CGROUPS_PATH = '/runt-plan-test/c';
const MiB = 1024 * 1024;

const COMMON: Resources = {
  devices: [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 10, minor: 200, access: 'rw' },
  ],
  memory: { limit: 64 * MiB, reservation: 32 * MiB, swap: 128 * MiB },
  cpu: { shares: 512, quota: 50000, period: 100000, burst: 10000, cpus: '0', mems: '0', idle: 0 },
  pids: { limit: 64 },
  blockIO: {
    weight: 300,
    weightDevice: [{ major: 8, minor: 0, weight: 500 }],
    throttleReadBpsDevice: [{ major: 8, minor: 0, rate: MiB }],
    throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 2 * MiB }],
    throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 100 }],
    throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 200 }],
  },
  hugepageLimits: [{ pageSize: '2MB', limit: 4 * MiB }],
  rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 10000 } },
  unified: { 'memory.high': String(48 * MiB) },
};

/** Every field, v1 meanings included (kernel memory, swappiness, realtime, leaf weights, network). */
const V1: Resources = {
  ...COMMON,
  memory: { ...COMMON.memory, kernel: 16 * MiB, kernelTCP: 8 * MiB, swappiness: 10, disableOOMKiller: true, useHierarchy: true },
  cpu: { ...COMMON.cpu, realtimePeriod: 1000000, realtimeRuntime: 1000 },
  blockIO: { ...COMMON.blockIO, leafWeight: 200, weightDevice: [{ major: 8, minor: 0, weight: 500, leafWeight: 300 }] },
  network: { classID: 0x100001, priorities: [{ name: 'eth0', priority: 5 }] },
};

/** Every field cgroup v2 takes (the v1-only ones would be refused or only warned about). */
const V2: Resources = { ...COMMON, memory: { ...COMMON.memory, swappiness: 10 } };

const V1_FILES: Record<string, string[]> = {
  devices: ['devices.allow', 'devices.deny'],
  memory: [
    'memory.limit_in_bytes',
    'memory.memsw.limit_in_bytes',
    'memory.soft_limit_in_bytes',
    'memory.kmem.limit_in_bytes',
    'memory.kmem.tcp.limit_in_bytes',
    'memory.swappiness',
    'memory.oom_control',
    'memory.use_hierarchy',
  ],
  cpu: ['cpu.shares', 'cpu.cfs_period_us', 'cpu.cfs_quota_us', 'cpu.cfs_burst_us', 'cpu.rt_period_us', 'cpu.rt_runtime_us', 'cpu.idle'],
  cpuset: ['cpuset.cpus', 'cpuset.mems'],
  pids: ['pids.max'],
  blkio: [
    'blkio.weight',
    'blkio.leaf_weight',
    'blkio.weight_device',
    'blkio.leaf_weight_device',
    'blkio.throttle.read_bps_device',
    'blkio.throttle.write_bps_device',
    'blkio.throttle.read_iops_device',
    'blkio.throttle.write_iops_device',
  ],
  hugetlb: ['hugetlb.2MB.limit_in_bytes', 'hugetlb.2MB.rsvd.limit_in_bytes'],
  net_cls: ['net_cls.classid'],
  net_prio: ['net_prio.ifpriomap'],
  rdma: ['rdma.max'],
  unified: ['cgroup.controllers', 'memory.high'],
};

const V2_FILES = [
  'cgroup.controllers',
  'memory.max',
  'memory.swap.max',
  'memory.low',
  'memory.high',
  'cpu.weight',
  'cpu.max',
  'cpu.max.burst',
  'cpu.idle',
  'cpuset.cpus',
  'cpuset.mems',
  'pids.max',
  'io.weight',
  'io.max',
  'hugetlb.2MB.max',
  'hugetlb.2MB.rsvd.max',
  'rdma.max',
];

function fakeCgroupfs(t: Test, dirs: Record<string, string[]>): string {
  const root = mkdtempSync(join(tmpdir(), 'runt-cgplan-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const [top, files] of Object.entries(dirs)) {
    const dir = join(root, top, CGROUPS_PATH);
    mkdirSync(dir, { recursive: true });
    for (const f of files) writeFileSync(join(dir, f), '');
    if (files.includes('cgroup.controllers'))
      writeFileSync(join(root, top, 'cgroup.controllers'), 'cpuset cpu io memory hugetlb pids rdma\n');
  }
  return root;
}

interface Recorded {
  file: string;
  value: string;
  field: string;
}

/** What `create` does with the resources (manager.apply: plan with the host probe, then apply),
 *  through a writer that records each write before making it. */
function recordCreate(
  root: string,
  resources: Resources,
  devices: NonNullable<Spec['linux']>['devices'],
): { writes: Recorded[]; warnings: string[] } {
  const m = createCgroupManager({ id: 'c', cgroupsPath: CGROUPS_PATH, mountRoot: root, attachDeviceFilter: () => {} });
  const writes: Recorded[] = [];
  const warnings: string[] = [];
  const real = fsWriter(() => {});
  const recorder: CgroupWriter = {
    writeLines(file, values, field) {
      for (const value of values) writes.push({ file, value, field });
      real.writeLines(file, values, field);
    },
    attach(dir, program, field) {
      // The program has no text of its own: record the description of the planned one it equals.
      const same = (p?: Uint8Array) => p !== undefined && Buffer.from(p).equals(Buffer.from(program));
      const planned = m.planWrites(withDefaultDeviceRules(resources, devices), false).writes.find((w) => same(w.program));
      writes.push({ file: dir, value: planned?.value ?? 'a program explain does not show', field });
      real.attach(dir, program, field);
    },
    read: real.read,
  };
  applyCgroupWrites(m.planWrites(withDefaultDeviceRules(resources, devices)), recorder, (w) => warnings.push(w));
  return { writes, warnings };
}

function explainWrites(t: Test, root: string, resources: Resources): Recorded[] {
  const bundle = mkdtempSync(join(tmpdir(), 'runt-cgplan-bundle-'));
  t.teardown(() => rmSync(bundle, { recursive: true, force: true }));
  mkdirSync(join(bundle, 'rootfs'));
  const spec = defaultSpec();
  spec.process!.terminal = false;
  spec.linux!.cgroupsPath = CGROUPS_PATH;
  spec.linux!.resources = resources;
  return explainBundle({ bundle, spec, cgroupMountRoot: root }).cgroups.writes;
}

t.test('v1 (hybrid): explain shows exactly the writes create makes, for every resource', (t) => {
  const root = fakeCgroupfs(t, V1_FILES);
  const explained = explainWrites(t, root, V1);
  const created = recordCreate(root, V1, defaultSpec().linux!.devices);
  t.same(explained, created.writes, 'same files, values, fields, in the same order');
  t.same(created.warnings, [], 'a kernel with every file: nothing ignored');
  for (const key of Object.keys(V1))
    t.ok(
      explained.some((w) => w.field.startsWith(`linux.resources.${key}`)),
      `writes for ${key}`,
    );
  t.ok(
    explained.some((w) => w.file.endsWith('/unified/runt-plan-test/c/memory.high')),
    'unified keys go to the cgroup2 mount',
  );
  t.end();
});

t.test('v2: explain shows exactly the writes create makes, the device program included', (t) => {
  const root = fakeCgroupfs(t, { '': V2_FILES });
  const explained = explainWrites(t, root, V2);
  const created = recordCreate(root, V2, defaultSpec().linux!.devices);
  t.same(explained, created.writes, 'same files, values, fields, in the same order');
  t.match(explained[0], {
    file: join(root, CGROUPS_PATH),
    value: /^BPF_CGROUP_DEVICE program: deny by default, except /,
    field: 'linux.resources.devices',
  });
  t.same(
    created.warnings,
    ['linux.resources.memory.swappiness: ignored, cgroup v2 has no per-cgroup swappiness'],
    'the v1-only field only warns',
  );
  t.end();
});

t.test('every key of linux.resources has a controller module', (t) => {
  const keys: Array<keyof Resources> = ['devices', 'memory', 'cpu', 'pids', 'blockIO', 'hugepageLimits', 'network', 'rdma', 'unified'];
  const served = new Set(CONTROLLERS.map((c) => c.resource));
  for (const k of keys) t.ok(served.has(k), k);
  t.end();
});
