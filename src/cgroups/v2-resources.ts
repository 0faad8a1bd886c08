// Writes linux.resources into a cgroup v2 directory, converting the v1-shaped OCI values
// (convert.ts) the way runc and crun do.
import { closeSync, constants, existsSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CgroupError } from '../errors.js';
import type { BlockIO, CPUResources, MemoryResources, Resources } from '../spec/types.js';
import { blkioWeightToIoWeight, cpuMax, cpuSharesToWeight, ioMaxLine, swapToV2, v2Limit } from './convert.js';
import { checkCpusetRange } from './cpuset.js';
import { DEVICE_FILTER_LICENSE, deviceFilterProgram } from './devices-bpf.js';
import { effectiveDeviceState } from './devices.js';
import { isCgroupErrno, readCgroupFile, tryReadCgroupFile, writeCgroupFile } from './fs.js';
import { rdmaLine } from './v1-resources.js';
import { validateResources } from './validate.js';
import { warnToStderr, type Warn } from './warn.js';

const F = 'linux.resources';

/** Loads a BPF_PROG_TYPE_CGROUP_DEVICE program and attaches it to the cgroup open at dirFd,
 *  replacing the programs attached before (the addon's job). */
export type DeviceFilterAttacher = (cgroupDirFd: number, insns: Uint8Array, license: string) => void;

export interface V2ApplyOptions {
  attachDeviceFilter?: DeviceFilterAttacher;
  /** Where "ignored" warnings go (default: stderr). */
  warn?: Warn;
}

/** Write `value` to `file`, which must exist: a missing file means its controller is not enabled. */
function write(dir: string, file: string, value: string, field: string): void {
  if (!existsSync(join(dir, file))) {
    const controller = file.split('.')[0];
    const available = (tryReadCgroupFile(dir, 'cgroup.controllers') ?? '').split(/\s+/);
    const why = controller !== 'cgroup' && !available.includes(controller)
      ? `the ${controller} controller is not available in ${dir}`
      : `${join(dir, file)} does not exist`;
    throw new CgroupError(`${field}: ${why}`);
  }
  writeCgroupFile(dir, file, value, field);
}

export function applyV2Resources(dir: string, input: unknown, opts: V2ApplyOptions = {}): void {
  const r: Resources = validateResources(input);
  if (r.devices) applyDevices(dir, r, opts);
  if (r.memory) applyMemory(dir, r.memory, opts.warn ?? warnToStderr);
  if (r.cpu) applyCpu(dir, r.cpu);
  if (r.pids && r.pids.limit !== undefined) write(dir, 'pids.max', v2Limit(r.pids.limit), `${F}.pids.limit`);
  if (r.blockIO) applyIo(dir, r.blockIO);
  (r.hugepageLimits ?? []).forEach((h, i) => {
    const field = `${F}.hugepageLimits[${i}]`;
    const file = `hugetlb.${h.pageSize}.max`;
    const available = (tryReadCgroupFile(dir, 'cgroup.controllers') ?? '').split(/\s+/);
    if (!existsSync(join(dir, file)) && available.includes('hugetlb')) {
      throw new CgroupError(`${field}.pageSize: this kernel has no ${h.pageSize} huge pages`);
    }
    write(dir, file, v2Limit(h.limit), `${field}.limit`);
    const rsvd = `hugetlb.${h.pageSize}.rsvd.max`;
    if (existsSync(join(dir, rsvd))) write(dir, rsvd, v2Limit(h.limit), `${field}.limit`);
  });
  if (r.network && (r.network.classID !== undefined || r.network.priorities?.length)) {
    throw new CgroupError(`${F}.network: cgroup v2 has no net_cls or net_prio controller (use eBPF or nftables for traffic classes)`);
  }
  for (const [dev, l] of Object.entries(r.rdma ?? {})) write(dir, 'rdma.max', rdmaLine(dev, l), `${F}.rdma.${dev}`);
  // Last, so explicit v2 values win over the converted ones.
  for (const [key, value] of Object.entries(r.unified ?? {})) write(dir, key, value, `${F}.unified["${key}"]`);
}

function applyMemory(dir: string, mem: MemoryResources, warn: Warn): void {
  const p = `${F}.memory`;
  const set = (n: number | undefined) => n !== undefined && n !== 0;
  if (mem.checkBeforeUpdate && set(mem.limit) && mem.limit! > 0) {
    const usage = Number(readCgroupFile(dir, 'memory.current'));
    if (mem.limit! < usage) throw new CgroupError(`${p}.limit: ${mem.limit} is below the current usage (${usage})`);
  }
  const swap = swapToV2(mem.swap, mem.limit);
  if (set(mem.limit)) write(dir, 'memory.max', v2Limit(mem.limit!), `${p}.limit`);
  if (swap !== undefined) {
    if (existsSync(join(dir, 'memory.swap.max'))) write(dir, 'memory.swap.max', swap, `${p}.swap`);
    else if (swap !== 'max') throw new CgroupError(`${p}.swap: this kernel does not account swap (no memory.swap.max)`);
  }
  if (set(mem.reservation)) write(dir, 'memory.low', v2Limit(mem.reservation!), `${p}.reservation`);
  if (set(mem.kernel)) warn(`${p}.kernel: ignored, cgroup v2 has no separate kernel memory limit`);
  if (set(mem.kernelTCP)) warn(`${p}.kernelTCP: ignored, cgroup v2 has no separate kernel TCP memory limit`);
  if (mem.swappiness !== undefined) warn(`${p}.swappiness: ignored, cgroup v2 has no per-cgroup swappiness`);
  if (mem.disableOOMKiller) warn(`${p}.disableOOMKiller: ignored, cgroup v2 cannot disable the OOM killer`);
  if (mem.useHierarchy === false) warn(`${p}.useHierarchy: false is ignored, cgroup v2 is always hierarchical`);
}

function applyCpu(dir: string, cpu: CPUResources): void {
  const p = `${F}.cpu`;
  if (cpu.shares) write(dir, 'cpu.weight', String(cpuSharesToWeight(cpu.shares)), `${p}.shares`);
  const max = cpuMax(cpu.quota, cpu.period);
  if (max) write(dir, 'cpu.max', max, cpu.quota ? `${p}.quota` : `${p}.period`);
  if (cpu.burst !== undefined) write(dir, 'cpu.max.burst', String(cpu.burst), `${p}.burst`);
  if (cpu.realtimeRuntime || cpu.realtimePeriod) {
    throw new CgroupError(`${p}.${cpu.realtimeRuntime ? 'realtimeRuntime' : 'realtimePeriod'}: cgroup v2 has no realtime CPU budget`);
  }
  if (cpu.idle !== undefined) write(dir, 'cpu.idle', String(cpu.idle), `${p}.idle`);
  const parent = dirname(dir);
  if (cpu.cpus) {
    checkCpusetRange(`${p}.cpus`, cpu.cpus, tryReadCgroupFile(parent, 'cpuset.cpus.effective'));
    write(dir, 'cpuset.cpus', cpu.cpus, `${p}.cpus`);
  }
  if (cpu.mems) {
    checkCpusetRange(`${p}.mems`, cpu.mems, tryReadCgroupFile(parent, 'cpuset.mems.effective'));
    write(dir, 'cpuset.mems', cpu.mems, `${p}.mems`);
  }
}

function applyIo(dir: string, b: BlockIO): void {
  const p = `${F}.blockIO`;
  // BFQ's io.bfq.weight takes the v1 range as is; io.weight needs the conversion.
  const bfq = existsSync(join(dir, 'io.bfq.weight'));
  if (b.weight) {
    if (bfq) write(dir, 'io.bfq.weight', String(b.weight), `${p}.weight`);
    else write(dir, 'io.weight', String(blkioWeightToIoWeight(b.weight)), `${p}.weight`);
  }
  if (b.leafWeight) throw new CgroupError(`${p}.leafWeight: cgroup v2 has no leaf weights`);
  (b.weightDevice ?? []).forEach((d, i) => {
    const field = `${p}.weightDevice[${i}]`;
    if (d.leafWeight) throw new CgroupError(`${field}.leafWeight: cgroup v2 has no leaf weights`);
    if (!d.weight) return;
    if (bfq) write(dir, 'io.bfq.weight', `${d.major}:${d.minor} ${d.weight}`, `${field}.weight`);
    else writeDeviceIoWeight(dir, d.major, d.minor, blkioWeightToIoWeight(d.weight), `${field}.weight`);
  });
  const throttles = [
    ['throttleReadBpsDevice', 'rbps'],
    ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'],
    ['throttleWriteIOPSDevice', 'wiops'],
  ] as const;
  for (const [key, name] of throttles) {
    (b[key] ?? []).forEach((d, i) => write(dir, 'io.max', ioMaxLine(d.major, d.minor, name, d.rate), `${p}.${key}[${i}]`));
  }
}

/** A per-device io.weight. The real kernel refuses it (EOPNOTSUPP) unless the io cost model is
 *  enabled for that device (`enable=1` in the root's io.cost.qos): say so instead of the errno. */
function writeDeviceIoWeight(dir: string, major: number, minor: number, weight: number, field: string): void {
  try {
    write(dir, 'io.weight', `${major}:${minor} ${weight}`, field);
  } catch (e) {
    if (!isCgroupErrno(e, 'EOPNOTSUPP') && !isCgroupErrno(e, 'ENOTSUP')) throw e;
    throw new CgroupError(`${field}: the kernel has no per-device weight for ${major}:${minor} (io.weight needs the io cost model enabled for it in io.cost.qos, or the BFQ scheduler)`);
  }
}

function applyDevices(dir: string, r: Resources, opts: V2ApplyOptions): void {
  const field = `${F}.devices`;
  const state = effectiveDeviceState(r.devices ?? [], { defaultAllow: false, exceptions: [] });
  const program = deviceFilterProgram(state);
  const attach = opts.attachDeviceFilter;
  if (!attach) throw new CgroupError(`${field}: cannot attach the eBPF device filter (the addon lacks attachDeviceFilter)`);
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e) {
    throw new CgroupError(`${field}: ${dir}: ${(e as NodeJS.ErrnoException).code}`);
  }
  try {
    attach(fd, program, DEVICE_FILTER_LICENSE);
  } catch (e) {
    throw new CgroupError(`${field}: attaching the eBPF device filter to ${dir}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
