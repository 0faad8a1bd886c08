// Writes linux.resources into the cgroup v1 hierarchies (and, on a hybrid host, `unified` keys
// into the cgroup2 mount when it has the file).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CgroupError } from '../errors.js';
import type { BlockIO, CPUResources, DeviceCgroup, MemoryResources, Resources } from '../spec/types.js';
import { v1Limit } from './convert.js';
import {
  type DeviceState, deviceRuleText, effectiveDeviceState, parseDevicesList, sameDeviceState,
} from './devices.js';
import { isCgroupErrno, readCgroupFile, tryReadCgroupFile, writeCgroupFile, writeCgroupLines } from './fs.js';
import { checkCpusetRange } from './cpuset.js';
import type { V1Manager } from './v1.js';
import { INT64_LIMIT, validateResources } from './validate.js';
import type { Warn } from './warn.js';

const F = 'linux.resources';

/** The container's directory in the hierarchy of `subsystem`, or an error naming the field. */
function need(m: V1Manager, subsystem: string, field: string): string {
  const dir = m.dirOf(subsystem);
  if (!dir) throw new CgroupError(`${field}: the ${subsystem} cgroup hierarchy is not mounted on this host`);
  return dir;
}

/** The first of `files` that exists in dir (the kernel renamed some, e.g. blkio.weight under BFQ). */
function firstExisting(dir: string, files: string[]): string | undefined {
  return files.find((f) => existsSync(join(dir, f)));
}

export function applyV1Resources(m: V1Manager, input: unknown, warn: Warn): void {
  const r: Resources = validateResources(input);
  if (r.devices) applyDevices(need(m, 'devices', `${F}.devices`), r.devices);
  if (r.memory) applyMemory(m, r.memory, warn);
  if (r.cpu) applyCpu(m, r.cpu);
  if (r.pids && r.pids.limit !== undefined) {
    const limit = r.pids.limit;
    writeCgroupFile(need(m, 'pids', `${F}.pids.limit`), 'pids.max', limit === -1 ? 'max' : String(limit), `${F}.pids.limit`);
  }
  if (r.blockIO) applyBlockIO(m, r.blockIO, warn);
  (r.hugepageLimits ?? []).forEach((h, i) => {
    const field = `${F}.hugepageLimits[${i}]`;
    const dir = need(m, 'hugetlb', field);
    const file = `hugetlb.${h.pageSize}.limit_in_bytes`;
    if (!existsSync(join(dir, file))) throw new CgroupError(`${field}.pageSize: this kernel has no ${h.pageSize} huge pages`);
    writeCgroupFile(dir, file, v1Limit(h.limit), `${field}.limit`);
    const rsvd = `hugetlb.${h.pageSize}.rsvd.limit_in_bytes`;
    if (existsSync(join(dir, rsvd))) writeCgroupFile(dir, rsvd, v1Limit(h.limit), `${field}.limit`);
  });
  if (r.network?.classID !== undefined) {
    writeCgroupFile(need(m, 'net_cls', `${F}.network.classID`), 'net_cls.classid', String(r.network.classID), `${F}.network.classID`);
  }
  (r.network?.priorities ?? []).forEach((p, i) => {
    const field = `${F}.network.priorities[${i}]`;
    writeCgroupFile(need(m, 'net_prio', field), 'net_prio.ifpriomap', `${p.name} ${p.priority}`, field);
  });
  for (const [dev, l] of Object.entries(r.rdma ?? {})) {
    const field = `${F}.rdma.${dev}`;
    writeCgroupFile(need(m, 'rdma', field), 'rdma.max', rdmaLine(dev, l), field);
  }
  if (r.unified && Object.keys(r.unified).length) applyUnifiedOnHybrid(m, r.unified);
}

export function rdmaLine(dev: string, l: { hcaHandles?: number; hcaObjects?: number }): string {
  const parts = [dev];
  if (l.hcaHandles !== undefined) parts.push(`hca_handle=${l.hcaHandles}`);
  if (l.hcaObjects !== undefined) parts.push(`hca_object=${l.hcaObjects}`);
  return parts.join(' ');
}

function applyMemory(m: V1Manager, mem: MemoryResources, warn: Warn): void {
  const p = `${F}.memory`;
  const set = (n: number | undefined) => n !== undefined && n !== 0;
  const any = Object.values(mem).some((v) => v !== undefined);
  if (!any) return;
  const dir = need(m, 'memory', p);
  let { limit, swap } = mem;
  if (mem.checkBeforeUpdate && set(limit) && limit! > 0) {
    const usage = Number(readCgroupFile(dir, 'memory.usage_in_bytes'));
    if (limit! < usage) throw new CgroupError(`${p}.limit: ${limit} is below the current usage (${usage})`);
  }
  const hasMemsw = existsSync(join(dir, 'memory.memsw.limit_in_bytes'));
  if (set(swap) && !hasMemsw) {
    throw new CgroupError(`${p}.swap: this kernel does not account swap (no memory.memsw.limit_in_bytes; boot with swapaccount=1)`);
  }
  // memory + swap can never be below memory: with unlimited memory, lift the memsw limit too.
  if (limit === -1 && !set(swap) && hasMemsw) swap = -1;
  const writeLimit = () => set(limit) && writeCgroupFile(dir, 'memory.limit_in_bytes', v1Limit(limit!), `${p}.limit`);
  const writeSwap = () => set(swap) && writeCgroupFile(dir, 'memory.memsw.limit_in_bytes', v1Limit(swap!), `${p}.swap`);
  if (set(swap)) {
    // The kernel keeps limit <= memsw at every step, so raise memsw first and lower it last.
    const current = Number(tryReadCgroupFile(dir, 'memory.memsw.limit_in_bytes') ?? 0);
    const raising = swap === -1 || swap! >= INT64_LIMIT || swap! > current;
    if (raising) {
      writeSwap();
      writeLimit();
    } else {
      writeLimit();
      writeSwap();
    }
  } else {
    writeLimit();
  }
  if (set(mem.reservation)) writeCgroupFile(dir, 'memory.soft_limit_in_bytes', v1Limit(mem.reservation!), `${p}.reservation`);
  if (set(mem.kernel)) writeOptional(dir, 'memory.kmem.limit_in_bytes', v1Limit(mem.kernel!), `${p}.kernel`, warn);
  if (set(mem.kernelTCP)) writeOptional(dir, 'memory.kmem.tcp.limit_in_bytes', v1Limit(mem.kernelTCP!), `${p}.kernelTCP`, warn);
  if (mem.swappiness !== undefined) writeCgroupFile(dir, 'memory.swappiness', String(mem.swappiness), `${p}.swappiness`);
  if (mem.disableOOMKiller !== undefined) {
    writeCgroupFile(dir, 'memory.oom_control', mem.disableOOMKiller ? '1' : '0', `${p}.disableOOMKiller`);
  }
  if (mem.useHierarchy !== undefined) {
    try {
      writeCgroupFile(dir, 'memory.use_hierarchy', mem.useHierarchy ? '1' : '0', `${p}.useHierarchy`);
    } catch (e) {
      // Since Linux 5.16 hierarchy is always on and writing 0 is refused.
      if (mem.useHierarchy || tryReadCgroupFile(dir, 'memory.use_hierarchy') !== '1') throw e;
      warn(`${p}.useHierarchy: false is ignored, this kernel always accounts memory hierarchically`);
    }
  }
}

/** Kernel memory limits are deprecated: files may be gone or refuse writes; warn and go on. */
function writeOptional(dir: string, file: string, value: string, field: string, warn: Warn): void {
  if (!existsSync(join(dir, file))) {
    warn(`${field}: ignored, this kernel has no ${file}`);
    return;
  }
  try {
    writeCgroupFile(dir, file, value, field);
  } catch (e) {
    if (!isCgroupErrno(e, 'EOPNOTSUPP') && !isCgroupErrno(e, 'ENOTSUP')) throw e;
    warn(`${field}: ignored, this kernel no longer limits ${file.replace(/\.limit_in_bytes$/, '')}`);
  }
}

function applyCpu(m: V1Manager, cpu: CPUResources): void {
  const p = `${F}.cpu`;
  const needCpu = () => need(m, 'cpu', p);
  if (cpu.shares) writeCgroupFile(needCpu(), 'cpu.shares', String(cpu.shares), `${p}.shares`);
  const period = cpu.period ? () => writeCgroupFile(needCpu(), 'cpu.cfs_period_us', String(cpu.period), `${p}.period`) : undefined;
  const quota = cpu.quota ? () => writeCgroupFile(needCpu(), 'cpu.cfs_quota_us', v1Limit(cpu.quota!), `${p}.quota`) : undefined;
  inEitherOrder(period, quota);
  if (cpu.burst !== undefined) {
    const dir = needCpu();
    if (!existsSync(join(dir, 'cpu.cfs_burst_us'))) throw new CgroupError(`${p}.burst: this kernel has no cpu.cfs_burst_us (Linux 5.14+)`);
    writeCgroupFile(dir, 'cpu.cfs_burst_us', String(cpu.burst), `${p}.burst`);
  }
  const rtPeriod = cpu.realtimePeriod ? () => writeCgroupFile(needCpu(), 'cpu.rt_period_us', String(cpu.realtimePeriod), `${p}.realtimePeriod`) : undefined;
  const rtRuntime = cpu.realtimeRuntime ? () => writeCgroupFile(needCpu(), 'cpu.rt_runtime_us', String(cpu.realtimeRuntime), `${p}.realtimeRuntime`) : undefined;
  inEitherOrder(rtPeriod, rtRuntime);
  if (cpu.idle !== undefined) writeCgroupFile(needCpu(), 'cpu.idle', String(cpu.idle), `${p}.idle`);
  if (cpu.cpus || cpu.mems) {
    const dir = need(m, 'cpuset', p);
    const parent = dirname(dir);
    if (cpu.cpus) {
      checkCpusetRange(`${p}.cpus`, cpu.cpus, tryReadCgroupFile(parent, 'cpuset.effective_cpus') ?? tryReadCgroupFile(parent, 'cpuset.cpus'));
      writeCgroupFile(dir, 'cpuset.cpus', cpu.cpus, `${p}.cpus`);
    }
    if (cpu.mems) {
      checkCpusetRange(`${p}.mems`, cpu.mems, tryReadCgroupFile(parent, 'cpuset.effective_mems') ?? tryReadCgroupFile(parent, 'cpuset.mems'));
      writeCgroupFile(dir, 'cpuset.mems', cpu.mems, `${p}.mems`);
    }
  }
}

/** Two writes the kernel checks against each other (period/quota, rt period/runtime): first then
 *  second, and the other way round when that order is refused. */
function inEitherOrder(first?: () => void, second?: () => void): void {
  try {
    first?.();
  } catch (e) {
    if (!second || !isCgroupErrno(e, 'EINVAL')) throw e;
    second();
    first!();
    return;
  }
  second?.();
}

function applyBlockIO(m: V1Manager, b: BlockIO, warn: Warn): void {
  const p = `${F}.blockIO`;
  const blkio = () => need(m, 'blkio', p);
  if (b.weight) {
    const dir = blkio();
    const file = firstExisting(dir, ['blkio.weight', 'blkio.bfq.weight']);
    if (!file) throw new CgroupError(`${p}.weight: this kernel has no blkio.weight or blkio.bfq.weight (no CFQ/BFQ scheduler)`);
    writeCgroupFile(dir, file, String(b.weight), `${p}.weight`);
  }
  if (b.leafWeight) writeLeaf(blkio(), 'blkio.leaf_weight', String(b.leafWeight), `${p}.leafWeight`, warn);
  (b.weightDevice ?? []).forEach((d, i) => {
    const field = `${p}.weightDevice[${i}]`;
    const dir = blkio();
    if (d.weight) {
      const file = firstExisting(dir, ['blkio.weight_device', 'blkio.bfq.weight_device']);
      if (!file) throw new CgroupError(`${field}.weight: this kernel has no blkio.weight_device or blkio.bfq.weight_device`);
      writeCgroupFile(dir, file, `${d.major}:${d.minor} ${d.weight}`, `${field}.weight`);
    }
    if (d.leafWeight) writeLeaf(dir, 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, `${field}.leafWeight`, warn);
  });
  const throttles = [
    ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
  ] as const;
  for (const [key, file] of throttles) {
    (b[key] ?? []).forEach((d, i) => {
      writeCgroupFile(blkio(), file, `${d.major}:${d.minor} ${d.rate}`, `${p}.${key}[${i}]`);
    });
  }
}

/** Leaf weights existed only with the CFQ scheduler (removed in Linux 5.0). */
function writeLeaf(dir: string, file: string, value: string, field: string, warn: Warn): void {
  if (!existsSync(join(dir, file))) {
    warn(`${field}: ignored, this kernel has no ${file} (CFQ only)`);
    return;
  }
  writeCgroupFile(dir, file, value, field);
}

/** Bring devices.allow/deny from what devices.list shows to the rules' state. When both are
 *  allow-lists only the difference is written, so running processes never lose a device they keep;
 *  otherwise the list is reset first (only happens before the container runs, in practice). */
function applyDevices(dir: string, rules: DeviceCgroup[]): void {
  const field = `${F}.devices`;
  const target = effectiveDeviceState(rules, { defaultAllow: false, exceptions: [] });
  const currentText = tryReadCgroupFile(dir, 'devices.list');
  const current: DeviceState | undefined = currentText === undefined ? undefined : parseDevicesList(currentText);
  if (current && sameDeviceState(current, target)) return;
  const allow = (rule: string) => writeCgroupFile(dir, 'devices.allow', rule, field);
  const deny = (rule: string) => writeCgroupFile(dir, 'devices.deny', rule, field);
  if (current && !current.defaultAllow && !target.defaultAllow) {
    for (const e of current.exceptions) {
      const t = target.exceptions.find((x) => deviceRuleText({ ...x, access: '' }) === deviceRuleText({ ...e, access: '' }));
      const drop = [...e.access].filter((c) => !t?.access.includes(c)).join('');
      if (drop) deny(deviceRuleText({ ...e, access: drop }));
    }
    for (const t of target.exceptions) {
      const e = current.exceptions.find((x) => deviceRuleText({ ...x, access: '' }) === deviceRuleText({ ...t, access: '' }));
      const add = [...t.access].filter((c) => !e?.access.includes(c)).join('');
      if (add) allow(deviceRuleText({ ...t, access: add }));
    }
    return;
  }
  // The common case (a new cgroup): one rule for all, then the exceptions through one open file.
  const exceptions = target.exceptions.map(deviceRuleText);
  if (target.defaultAllow) {
    allow('a');
    writeCgroupLines(dir, 'devices.deny', exceptions, field);
  } else {
    deny('a');
    writeCgroupLines(dir, 'devices.allow', exceptions, field);
  }
}

/** `unified` is cgroup v2 configuration: on a hybrid host it can go to the cgroup2 mount for
 *  controllers that no v1 hierarchy holds; on a pure v1 host there is nowhere to write it. */
function applyUnifiedOnHybrid(m: V1Manager, unified: Record<string, string>): void {
  for (const [key, value] of Object.entries(unified)) {
    const field = `${F}.unified["${key}"]`;
    if (!m.unified) throw new CgroupError(`${field}: this host has only cgroup v1 hierarchies (unified needs cgroup v2)`);
    if (!existsSync(join(m.unified.dir, key))) {
      throw new CgroupError(`${field}: the cgroup2 mount of this hybrid host has no ${key} (its controller is not available there)`);
    }
    writeCgroupFile(m.unified.dir, key, value, field);
  }
}
