// The v2 driver's file writes against a directory laid out like cgroupfs v2, compared with what
// runc writes for the same config; the v1→v2 conversions; the device eBPF program, run in a small
// interpreter and compared with the v1 kernel's device rules.
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  blkioWeightToIoWeight,
  cpuMax,
  cpuSharesToWeight,
  createCgroupManager,
  deviceFilterProgram,
  type DeviceState,
  effectiveDeviceState,
  swapToV2,
} from '../src/cgroups/index.js';
import { BPF_DEVCG_ACC, BPF_DEVCG_DEV } from '../src/cgroups/devices-bpf.js';

const CONTROLLERS = 'cpuset cpu io memory hugetlb pids rdma';
const FILES = [
  'cgroup.procs',
  'cgroup.controllers',
  'cgroup.subtree_control',
  'cgroup.freeze',
  'cgroup.events',
  'memory.max',
  'memory.low',
  'memory.high',
  'memory.swap.max',
  'memory.current',
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

/** A fake v2 mount with the container's cgroup /runt/c already populated (as the kernel would
 *  after create() enabled the controllers). */
function fakeV2(t: Test) {
  const root = mkdtempSync(join(tmpdir(), 'runt-cg2-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const d of [root, join(root, 'runt'), join(root, 'runt/c')]) {
    mkdirSync(d, { recursive: true });
    for (const f of FILES) writeFileSync(join(d, f), '');
    writeFileSync(join(d, 'cgroup.controllers'), `${CONTROLLERS}\n`);
  }
  writeFileSync(join(root, 'runt/cpuset.cpus.effective'), '0-3\n');
  writeFileSync(join(root, 'runt/cpuset.mems.effective'), '0\n');
  const attached: Uint8Array[] = [];
  const m = createCgroupManager({ id: 'c', mountRoot: root, attachDeviceFilter: (_fd, prog) => attached.push(prog) });
  const dir = join(root, 'runt/c');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return { root, dir, m, read, attached };
}

const MiB = 1024 * 1024;

t.test('v2 files for a full config match what runc writes', async (t) => {
  const { m, read } = fakeV2(t);
  m.create();
  m.apply({
    memory: { limit: 128 * MiB, reservation: 64 * MiB, swap: 256 * MiB },
    cpu: { shares: 1024, quota: 50000, period: 100000, burst: 10000, cpus: '0-1', mems: '0', idle: 1 },
    pids: { limit: 100 },
    blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: MiB }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 4 * MiB }],
    rdma: { mlx5_0: { hcaHandles: 3, hcaObjects: 100 } },
    unified: { 'memory.high': '100000000' },
  });
  const runcWrites: Record<string, string> = {
    'memory.max': '134217728',
    'memory.low': '67108864',
    'memory.swap.max': '134217728', // 256 MiB memory+swap - 128 MiB memory
    'cpu.weight': '39', // 1 + (1024 - 2) * 9999 / 262142
    'cpu.max': '50000 100000',
    'cpu.max.burst': '10000',
    'cpuset.cpus': '0-1',
    'cpuset.mems': '0',
    'cpu.idle': '1',
    'pids.max': '100',
    'io.weight': '4950', // 1 + (500 - 10) * 9999 / 990
    'io.max': '8:0 rbps=1048576',
    'hugetlb.2MB.max': '4194304',
    'hugetlb.2MB.rsvd.max': '4194304',
    'rdma.max': 'mlx5_0 hca_handle=3 hca_object=100',
    'memory.high': '100000000',
  };
  for (const [file, value] of Object.entries(runcWrites)) t.equal(read(file), value, file);
});

t.test('v2 unlimited values and swap rules', async (t) => {
  const { m, read } = fakeV2(t);
  m.apply({ memory: { limit: -1 }, pids: { limit: -1 }, cpu: { quota: -1 } });
  t.equal(read('memory.max'), 'max');
  t.equal(read('memory.swap.max'), 'max', 'unlimited memory lifts swap too');
  t.equal(read('pids.max'), 'max');
  t.equal(read('cpu.max'), 'max 100000');
  // eslint-disable-next-line no-loss-of-precision -- past int64 on purpose: it must mean no limit
  m.apply({ memory: { limit: 9223372036854775807 } });
  t.equal(read('memory.max'), 'max', 'int64 max means unlimited');
  m.apply({ pids: { limit: 0 } });
  t.equal(read('pids.max'), '0', 'pids.limit 0 is a real limit (runtime spec)');
  t.throws(() => m.apply({ memory: { swap: 100 } }), /^linux\.resources\.memory\.swap: needs memory\.limit/);
  t.throws(() => m.apply({ cpu: { realtimeRuntime: 1000 } }), /^linux\.resources\.cpu\.realtimeRuntime: cgroup v2 has no realtime/);
  t.throws(() => m.apply({ network: { classID: 1 } }), /^linux\.resources\.network: cgroup v2 has no net_cls/);
  t.throws(() => m.apply({ blockIO: { leafWeight: 100 } }), /^linux\.resources\.blockIO\.leafWeight/);
  t.throws(() => m.apply({ cpu: { cpus: '0-7' } }), /^linux\.resources\.cpu\.cpus: 4-7 not available \(the parent cgroup has 0-3\)/);
  t.throws(
    () => m.apply({ hugepageLimits: [{ pageSize: '1GB', limit: 0 }] }),
    /^linux\.resources\.hugepageLimits\[0\]\.pageSize: this kernel has no 1GB huge pages/,
  );
  t.throws(
    () => m.apply({ unified: { 'misc.max': 'x 1' } }),
    /^linux\.resources\.unified\["misc\.max"\]: the misc controller is not available/,
  );
  // Validation happens before any write.
  writeFileSync(join(m.paths[''], 'memory.max'), '');
  t.throws(() => m.apply({ memory: { limit: 1000 }, cpu: { shares: -1 } }), /^linux\.resources\.cpu\.shares: must not be negative/);
  t.equal(read('memory.max'), '', 'nothing written');
});

t.test('v2 create enables controllers and refuses a busy cgroup', async (t) => {
  const { root, m } = fakeV2(t);
  rmSync(join(root, 'runt'), { recursive: true });
  m.create();
  t.equal(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8'), '+rdma', 'the fake keeps the last "+controller" write');
  writeFileSync(join(m.paths[''], 'cgroup.procs'), '7\n');
  t.throws(() => m.create(), /runt\/c already exists and holds processes/);
});

t.test('v2 freeze waits for cgroup.events', async (t) => {
  const { m, read, dir } = fakeV2(t);
  writeFileSync(join(dir, 'cgroup.events'), 'populated 1\nfrozen 1\n');
  m.freeze();
  t.equal(read('cgroup.freeze'), '1');
  t.ok(m.isFrozen());
  writeFileSync(join(dir, 'cgroup.events'), 'populated 1\nfrozen 0\n');
  m.thaw();
  t.equal(read('cgroup.freeze'), '0');
  t.notOk(m.isFrozen());
});

t.test('v2 stats', async (t) => {
  const { m, dir } = fakeV2(t);
  writeFileSync(
    join(dir, 'cpu.stat'),
    'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 3\nnr_throttled 1\nthrottled_usec 20\n',
  );
  writeFileSync(join(dir, 'memory.current'), '4096\n');
  writeFileSync(join(dir, 'memory.max'), 'max\n');
  writeFileSync(join(dir, 'memory.stat'), 'anon 1024\nfile 2048\n');
  writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 2\noom 0\noom_kill 0\n');
  writeFileSync(join(dir, 'pids.current'), '3\n');
  writeFileSync(join(dir, 'pids.max'), '50\n');
  writeFileSync(join(dir, 'io.stat'), '8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n');
  const s = m.stats() as Record<string, any>;
  t.same(s.cpu, {
    usage: { total: 1500000, kernel: 500000, user: 1000000 },
    throttling: { periods: 3, throttledPeriods: 1, throttledTime: 20000 },
  });
  t.equal(s.memory.usage.usage, 4096);
  t.equal(s.memory.usage.failcnt, 2);
  t.equal(s.memory.usage.limit, 2 ** 64 - 1);
  t.equal(s.memory.cache, 2048);
  t.same(s.memory.raw, { anon: 1024, file: 2048 });
  t.same(s.pids, { current: 3, limit: 50 });
  t.same(s.blkio.ioServiceBytesRecursive, [
    { major: 8, minor: 0, op: 'Read', value: 100 },
    { major: 8, minor: 0, op: 'Write', value: 200 },
  ]);
});

t.test('v1→v2 conversions', async (t) => {
  t.equal(cpuSharesToWeight(2), 1);
  t.equal(cpuSharesToWeight(1024), 39);
  t.equal(cpuSharesToWeight(262144), 10000);
  t.equal(cpuSharesToWeight(0), 0, '0 stays unset');
  t.equal(blkioWeightToIoWeight(10), 1);
  t.equal(blkioWeightToIoWeight(1000), 10000);
  t.equal(swapToV2(200, 100), '100');
  t.equal(swapToV2(-1, 100), 'max');
  t.equal(swapToV2(undefined, -1), 'max');
  t.equal(swapToV2(undefined, 100), undefined);
  t.equal(swapToV2(100, 100), '0', 'swap == limit: no swap at all');
  t.throws(() => swapToV2(50, 100), /must be at least memory\.limit/);
  t.throws(() => swapToV2(200, -1), /cannot be limited while memory\.limit is -1/);
  t.equal(cpuMax(undefined, 50000), 'max 50000');
  t.equal(cpuMax(20000, undefined), '20000 100000');
  t.equal(cpuMax(undefined, undefined), undefined);
});

// ---- the device filter ---------------------------------------------------------------------

/** Runs the instructions devices-bpf.ts emits (and nothing else) on one bpf_cgroup_dev_ctx. */
function runBpf(prog: Uint8Array, ctx: [number, number, number]): number {
  const view = new DataView(prog.buffer, prog.byteOffset, prog.byteLength);
  const reg = new Array<bigint>(11).fill(0n);
  const mem = new DataView(new ArrayBuffer(12));
  ctx.forEach((v, i) => mem.setUint32(i * 4, v, true));
  const U64 = (1n << 64n) - 1n;
  for (let pc = 0, steps = 0; steps < 10000; pc++, steps++) {
    const at = pc * 8;
    const code = view.getUint8(at);
    const dst = view.getUint8(at + 1) & 0xf;
    const src = view.getUint8(at + 1) >> 4;
    const off = view.getInt16(at + 2, true);
    const imm = BigInt.asUintN(64, BigInt(view.getInt32(at + 4, true)));
    switch (code) {
      case 0x61:
        if (src !== 1) throw new Error('load from a non-context register');
        reg[dst] = BigInt(mem.getUint32(off, true));
        break;
      case 0x57:
        reg[dst] &= imm;
        break;
      case 0x77:
        reg[dst] = (reg[dst] >> imm) & U64;
        break;
      case 0xb7:
        reg[dst] = imm;
        break;
      case 0xbf:
        reg[dst] = reg[src];
        break;
      case 0x55:
        if (reg[dst] !== imm) pc += off;
        break;
      case 0x15:
        if (reg[dst] === imm) pc += off;
        break;
      case 0x95:
        return Number(reg[0]);
      default:
        throw new Error(`unexpected opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('no exit');
}

/** The v1 kernel's answer for the same state (security/device_cgroup.c semantics). */
function v1Allows(s: DeviceState, type: 'c' | 'b', major: number, minor: number, access: string): boolean {
  const bits = (a: string) => [...a].reduce((n, c) => n | BPF_DEVCG_ACC[c as 'r' | 'w' | 'm'], 0);
  const want = bits(access);
  const matching = s.exceptions.filter((e) => e.type === type && (e.major < 0 || e.major === major) && (e.minor < 0 || e.minor === minor));
  return s.defaultAllow ? !matching.some((e) => (bits(e.access) & want) !== 0) : matching.some((e) => (want & ~bits(e.access)) === 0);
}

function bpfAllows(prog: Uint8Array, type: 'c' | 'b', major: number, minor: number, access: string): boolean {
  const acc = [...access].reduce((n, c) => n | BPF_DEVCG_ACC[c as 'r' | 'w' | 'm'], 0);
  return runBpf(prog, [(acc << 16) | BPF_DEVCG_DEV[type], major, minor]) === 1;
}

t.test('device rules: order and resets as the v1 kernel applies them', async (t) => {
  const s = effectiveDeviceState([
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'r' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'w' },
    { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' },
    { allow: false, type: 'c', major: 1, minor: 5, access: 'm' },
    { allow: true, type: 'b', access: 'm' },
  ]);
  t.same(s, {
    defaultAllow: false,
    exceptions: [
      { type: 'c', major: 1, minor: 3, access: 'rw' },
      { type: 'c', major: 1, minor: 5, access: 'rw' },
      { type: 'b', major: -1, minor: -1, access: 'm' },
    ],
  });
  t.same(
    effectiveDeviceState([
      { allow: true, type: 'c', major: 1, minor: 3 },
      { allow: true, access: 'rwm' },
    ]),
    { defaultAllow: true, exceptions: [] },
  );
  t.same(
    effectiveDeviceState([
      { allow: true, access: 'rwm' },
      { allow: false, type: 'c', major: 10, minor: 200, access: 'rwm' },
    ]).exceptions,
    [{ type: 'c', major: 10, minor: 200, access: 'rwm' }],
  );
});

t.test('device eBPF program agrees with the v1 kernel on every probe', async (t) => {
  const ruleSets = [
    [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'c', major: 136, access: 'rw' },
      { allow: true, type: 'b', access: 'm' },
    ],
    [
      { allow: true, access: 'rwm' },
      { allow: false, type: 'c', major: 10, minor: 200, access: 'rw' },
      { allow: false, type: 'b', major: 8, access: 'm' },
    ],
    [{ allow: false, access: 'rwm' }],
    [{ allow: true, access: 'rwm' }],
    [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', access: 'r' },
    ],
  ];
  const probes: Array<['c' | 'b', number, number]> = [
    ['c', 1, 3],
    ['c', 1, 5],
    ['c', 136, 0],
    ['c', 136, 7],
    ['c', 10, 200],
    ['b', 8, 0],
    ['b', 8, 1],
    ['b', 7, 0],
  ];
  const accesses = ['r', 'w', 'm', 'rw', 'rm', 'wm', 'rwm'];
  for (const rules of ruleSets) {
    const state = effectiveDeviceState(rules);
    const prog = deviceFilterProgram(state);
    t.equal(prog.length % 8, 0);
    let disagreements = 0;
    for (const [type, major, minor] of probes) {
      for (const a of accesses) {
        if (bpfAllows(prog, type, major, minor, a) !== v1Allows(state, type, major, minor, a)) {
          disagreements++;
          t.fail(`${JSON.stringify(rules)}: ${type} ${major}:${minor} ${a}`);
        }
      }
    }
    t.equal(disagreements, 0, `${state.exceptions.length} exceptions, default ${state.defaultAllow ? 'allow' : 'deny'}`);
  }
  // Spot checks of the usual container policy.
  const prog = deviceFilterProgram(effectiveDeviceState(ruleSets[0]));
  t.ok(bpfAllows(prog, 'c', 1, 3, 'rw'), '/dev/null usable');
  t.notOk(bpfAllows(prog, 'c', 1, 5, 'r'), '/dev/zero not listed');
  t.ok(bpfAllows(prog, 'c', 136, 4, 'rw'), 'any pty');
  t.notOk(bpfAllows(prog, 'c', 136, 4, 'm'), 'but no mknod of one');
  t.ok(bpfAllows(prog, 'b', 8, 0, 'm'), 'mknod of block devices');
  t.notOk(bpfAllows(prog, 'b', 8, 0, 'r'), 'not reading them');
});

t.test('v2 apply attaches the device program', async (t) => {
  const { m, attached } = fakeV2(t);
  m.apply({
    devices: [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    ],
  });
  t.equal(attached.length, 1);
  t.ok(bpfAllows(attached[0], 'c', 1, 3, 'rwm'));
  t.notOk(bpfAllows(attached[0], 'c', 1, 8, 'r'));
  m.apply({ pids: { limit: 5 } });
  t.equal(attached.length, 1, 'no devices field, no new program');
});
