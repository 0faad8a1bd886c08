// linux.resources as the cgroup files and values the driver writes (src/cgroups/v1-resources.ts and
// v2-resources.ts). A rendering, not a dry run: the driver also reads the host (which of
// blkio.weight / blkio.bfq.weight exists, the current devices.list, whether period or quota must go
// first) and may skip or reorder a write accordingly; the values are the same.
import { posix } from 'node:path';
import type { Resources } from '../spec/types.js';
import { blkioWeightToIoWeight, cpuMax, cpuSharesToWeight, ioMaxLine, swapToV2, v1Limit, v2Limit } from '../cgroups/convert.js';
import { deviceRuleText, effectiveDeviceState } from '../cgroups/devices.js';
import { rdmaLine } from '../cgroups/v1-resources.js';

export interface CgroupWrite {
  /** Absolute path of the file (for the eBPF device program: the cgroup directory). */
  file: string;
  value: string;
  field: string;
}

const F = 'linux.resources';

/** `paths`: hierarchy name → the container's directory, as CgroupManager.paths ("" for pure v2). */
export function cgroupWrites(resources: Resources | undefined, paths: Record<string, string>): CgroupWrite[] {
  if (!resources) return [];
  return '' in paths ? v2Writes(resources, paths['']) : v1Writes(resources, paths);
}

function v1Writes(r: Resources, paths: Record<string, string>): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const dirOf = (subsystem: string) => {
    const key = Object.keys(paths).find((k) => k.split(',').includes(subsystem));
    return key ? paths[key] : `<no ${subsystem} hierarchy>`;
  };
  const w = (subsystem: string, file: string, value: string, field: string) => out.push({ file: posix.join(dirOf(subsystem), file), value, field });
  const set = (n: number | undefined) => n !== undefined && n !== 0;

  if (r.devices) {
    const state = effectiveDeviceState(r.devices, { defaultAllow: false, exceptions: [] });
    const field = `${F}.devices`;
    w('devices', state.defaultAllow ? 'devices.allow' : 'devices.deny', 'a', field);
    for (const e of state.exceptions) w('devices', state.defaultAllow ? 'devices.deny' : 'devices.allow', deviceRuleText(e), field);
  }
  const m = r.memory;
  if (m) {
    const p = `${F}.memory`;
    if (set(m.limit)) w('memory', 'memory.limit_in_bytes', v1Limit(m.limit!), `${p}.limit`);
    if (set(m.swap)) w('memory', 'memory.memsw.limit_in_bytes', v1Limit(m.swap!), `${p}.swap`);
    if (set(m.reservation)) w('memory', 'memory.soft_limit_in_bytes', v1Limit(m.reservation!), `${p}.reservation`);
    if (set(m.kernel)) w('memory', 'memory.kmem.limit_in_bytes', v1Limit(m.kernel!), `${p}.kernel`);
    if (set(m.kernelTCP)) w('memory', 'memory.kmem.tcp.limit_in_bytes', v1Limit(m.kernelTCP!), `${p}.kernelTCP`);
    if (m.swappiness !== undefined) w('memory', 'memory.swappiness', String(m.swappiness), `${p}.swappiness`);
    if (m.disableOOMKiller !== undefined) w('memory', 'memory.oom_control', m.disableOOMKiller ? '1' : '0', `${p}.disableOOMKiller`);
    if (m.useHierarchy !== undefined) w('memory', 'memory.use_hierarchy', m.useHierarchy ? '1' : '0', `${p}.useHierarchy`);
  }
  const c = r.cpu;
  if (c) {
    const p = `${F}.cpu`;
    if (c.shares) w('cpu', 'cpu.shares', String(c.shares), `${p}.shares`);
    if (c.period) w('cpu', 'cpu.cfs_period_us', String(c.period), `${p}.period`);
    if (c.quota) w('cpu', 'cpu.cfs_quota_us', v1Limit(c.quota), `${p}.quota`);
    if (c.burst !== undefined) w('cpu', 'cpu.cfs_burst_us', String(c.burst), `${p}.burst`);
    if (c.realtimePeriod) w('cpu', 'cpu.rt_period_us', String(c.realtimePeriod), `${p}.realtimePeriod`);
    if (c.realtimeRuntime) w('cpu', 'cpu.rt_runtime_us', String(c.realtimeRuntime), `${p}.realtimeRuntime`);
    if (c.idle !== undefined) w('cpu', 'cpu.idle', String(c.idle), `${p}.idle`);
    if (c.cpus) w('cpuset', 'cpuset.cpus', c.cpus, `${p}.cpus`);
    if (c.mems) w('cpuset', 'cpuset.mems', c.mems, `${p}.mems`);
  }
  if (r.pids?.limit !== undefined) w('pids', 'pids.max', r.pids.limit === -1 ? 'max' : String(r.pids.limit), `${F}.pids.limit`);
  const b = r.blockIO;
  if (b) {
    const p = `${F}.blockIO`;
    if (b.weight) w('blkio', 'blkio.weight', String(b.weight), `${p}.weight`);
    if (b.leafWeight) w('blkio', 'blkio.leaf_weight', String(b.leafWeight), `${p}.leafWeight`);
    (b.weightDevice ?? []).forEach((d, i) => {
      if (d.weight) w('blkio', 'blkio.weight_device', `${d.major}:${d.minor} ${d.weight}`, `${p}.weightDevice[${i}].weight`);
      if (d.leafWeight) w('blkio', 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, `${p}.weightDevice[${i}].leafWeight`);
    });
    for (const [key, file] of THROTTLES_V1) {
      (b[key] ?? []).forEach((d, i) => w('blkio', file, `${d.major}:${d.minor} ${d.rate}`, `${p}.${key}[${i}]`));
    }
  }
  (r.hugepageLimits ?? []).forEach((h, i) => w('hugetlb', `hugetlb.${h.pageSize}.limit_in_bytes`, v1Limit(h.limit), `${F}.hugepageLimits[${i}].limit`));
  if (r.network?.classID !== undefined) w('net_cls', 'net_cls.classid', String(r.network.classID), `${F}.network.classID`);
  (r.network?.priorities ?? []).forEach((p, i) => w('net_prio', 'net_prio.ifpriomap', `${p.name} ${p.priority}`, `${F}.network.priorities[${i}]`));
  for (const [dev, l] of Object.entries(r.rdma ?? {})) w('rdma', 'rdma.max', rdmaLine(dev, l), `${F}.rdma.${dev}`);
  for (const [key, value] of Object.entries(r.unified ?? {})) {
    out.push({ file: posix.join(paths.unified ?? '<no cgroup2 mount>', key), value, field: `${F}.unified["${key}"]` });
  }
  return out;
}

const THROTTLES_V1 = [
  ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
  ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
  ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
  ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
] as const;

const THROTTLES_V2 = [
  ['throttleReadBpsDevice', 'rbps'],
  ['throttleWriteBpsDevice', 'wbps'],
  ['throttleReadIOPSDevice', 'riops'],
  ['throttleWriteIOPSDevice', 'wiops'],
] as const;

function v2Writes(r: Resources, dir: string): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const w = (file: string, value: string, field: string) => out.push({ file: posix.join(dir, file), value, field });
  const set = (n: number | undefined) => n !== undefined && n !== 0;

  if (r.devices) {
    const state = effectiveDeviceState(r.devices, { defaultAllow: false, exceptions: [] });
    const rules = state.exceptions.map(deviceRuleText).join('; ');
    out.push({
      file: dir,
      value: `BPF_CGROUP_DEVICE program: ${state.defaultAllow ? 'allow' : 'deny'} by default${rules ? `, except ${rules}` : ''}`,
      field: `${F}.devices`,
    });
  }
  const m = r.memory;
  if (m) {
    const p = `${F}.memory`;
    if (set(m.limit)) w('memory.max', v2Limit(m.limit!), `${p}.limit`);
    const swap = swapToV2(m.swap, m.limit);
    if (swap !== undefined) w('memory.swap.max', swap, `${p}.swap`);
    if (set(m.reservation)) w('memory.low', v2Limit(m.reservation!), `${p}.reservation`);
  }
  const c = r.cpu;
  if (c) {
    const p = `${F}.cpu`;
    if (c.shares) w('cpu.weight', String(cpuSharesToWeight(c.shares)), `${p}.shares`);
    const max = cpuMax(c.quota, c.period);
    if (max) w('cpu.max', max, c.quota ? `${p}.quota` : `${p}.period`);
    if (c.burst !== undefined) w('cpu.max.burst', String(c.burst), `${p}.burst`);
    if (c.idle !== undefined) w('cpu.idle', String(c.idle), `${p}.idle`);
    if (c.cpus) w('cpuset.cpus', c.cpus, `${p}.cpus`);
    if (c.mems) w('cpuset.mems', c.mems, `${p}.mems`);
  }
  if (r.pids?.limit !== undefined) w('pids.max', v2Limit(r.pids.limit), `${F}.pids.limit`);
  const b = r.blockIO;
  if (b) {
    const p = `${F}.blockIO`;
    if (b.weight) w('io.weight', String(blkioWeightToIoWeight(b.weight)), `${p}.weight`);
    (b.weightDevice ?? []).forEach((d, i) => {
      if (d.weight) w('io.weight', `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`, `${p}.weightDevice[${i}].weight`);
    });
    for (const [key, name] of THROTTLES_V2) {
      (b[key] ?? []).forEach((d, i) => w('io.max', ioMaxLine(d.major, d.minor, name, d.rate), `${p}.${key}[${i}]`));
    }
  }
  (r.hugepageLimits ?? []).forEach((h, i) => w(`hugetlb.${h.pageSize}.max`, v2Limit(h.limit), `${F}.hugepageLimits[${i}].limit`));
  for (const [dev, l] of Object.entries(r.rdma ?? {})) w('rdma.max', rdmaLine(dev, l), `${F}.rdma.${dev}`);
  for (const [key, value] of Object.entries(r.unified ?? {})) w(key, value, `${F}.unified["${key}"]`);
  return out;
}
