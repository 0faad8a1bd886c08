// linux.resources (and the config's annotations) as systemd unit properties, the ones runc sets on a
// transient scope: what systemd manages itself (memory, tasks, CPU weight and quota, cpusets, IO
// weight). Everything else is written into the delegated cgroup's files afterwards (v2-resources.ts),
// as runc does too. Each property is [name, D-Bus signature, value].
import { CgroupError } from '../../errors.js';
import type { Resources } from '../../spec/types.js';
import { blkioWeightToIoWeight, cpuSharesToWeight, swapToV2 } from '../convert.js';
import { INT64_LIMIT } from '../validate.js';

export type UnitProperty = [name: string, signature: string, value: unknown];

/** systemd's "infinity" for uint64 properties. */
export const INFINITY = 2n ** 64n - 1n;
const ANNOTATION = 'org.systemd.property.';

const limit = (n: number): bigint => (n === -1 || n >= INT64_LIMIT ? INFINITY : BigInt(n));
const fileLimit = (v: string): bigint => (v.trim() === 'max' ? INFINITY : BigInt(v.trim()));

/** "0-2,7" as systemd's cpu/node mask: little-endian bytes, bit i for cpu i. */
export function cpusetMask(list: string, field: string): number[] {
  const bytes: number[] = [];
  for (const part of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new CgroupError(`${field}: "${list}" is not a cpu list`);
    const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (hi < lo || hi > 8191) throw new CgroupError(`${field}: "${list}" is not a cpu list`);
    for (let i = lo; i <= hi; i++) {
      while (bytes.length <= i >> 3) bytes.push(0);
      bytes[i >> 3] |= 1 << (i & 7);
    }
  }
  return bytes;
}

/** CPUQuotaPerSecUSec from quota/period: systemd keeps it in 10 ms steps, so round up as runc does
 *  (the exact cpu.max is written to the file afterwards). */
function quotaPerSec(quota: number, period: number): bigint {
  if (quota <= 0) return INFINITY;
  const perSec = Math.ceil((quota * 1_000_000) / period);
  return BigInt(Math.ceil(perSec / 10_000) * 10_000);
}

export function resourceProperties(r: Resources): UnitProperty[] {
  const p: UnitProperty[] = [];
  const m = r.memory;
  if (m?.limit) p.push(['MemoryMax', 't', limit(m.limit)]);
  if (m?.reservation) p.push(['MemoryLow', 't', limit(m.reservation)]);
  if (m) {
    const swap = swapToV2(m.swap, m.limit);
    if (swap !== undefined) p.push(['MemorySwapMax', 't', fileLimit(swap)]);
  }
  const c = r.cpu;
  if (c?.shares) p.push(['CPUWeight', 't', BigInt(cpuSharesToWeight(c.shares))]);
  if (c?.quota || c?.period) {
    const period = c.period || 100_000;
    p.push(['CPUQuotaPerSecUSec', 't', quotaPerSec(c.quota ?? -1, period)]);
    p.push(['CPUQuotaPeriodUSec', 't', BigInt(period)]);
  }
  if (c?.cpus) p.push(['AllowedCPUs', 'ay', cpusetMask(c.cpus, 'linux.resources.cpu.cpus')]);
  if (c?.mems) p.push(['AllowedMemoryNodes', 'ay', cpusetMask(c.mems, 'linux.resources.cpu.mems')]);
  if (r.pids?.limit !== undefined && r.pids.limit !== 0) p.push(['TasksMax', 't', limit(r.pids.limit)]);
  if (r.blockIO?.weight) p.push(['IOWeight', 't', BigInt(blkioWeightToIoWeight(r.blockIO.weight))]);
  for (const [key, value] of Object.entries(r.unified ?? {})) p.push(...unifiedProperties(key, value));
  return p;
}

/** The unified keys systemd has a property for (others are only written to the file). */
function unifiedProperties(key: string, value: string): UnitProperty[] {
  const field = `linux.resources.unified["${key}"]`;
  try {
    switch (key) {
      case 'memory.max':
        return [['MemoryMax', 't', fileLimit(value)]];
      case 'memory.high':
        return [['MemoryHigh', 't', fileLimit(value)]];
      case 'memory.low':
        return [['MemoryLow', 't', fileLimit(value)]];
      case 'memory.min':
        return [['MemoryMin', 't', fileLimit(value)]];
      case 'memory.swap.max':
        return [['MemorySwapMax', 't', fileLimit(value)]];
      case 'pids.max':
        return [['TasksMax', 't', fileLimit(value)]];
      case 'cpu.weight':
        return [['CPUWeight', 't', BigInt(value.trim())]];
      case 'cpuset.cpus':
        return [['AllowedCPUs', 'ay', cpusetMask(value, field)]];
      case 'cpuset.mems':
        return [['AllowedMemoryNodes', 'ay', cpusetMask(value, field)]];
      case 'cpu.max': {
        const [q, per] = value.trim().split(/\s+/);
        const period = per ? Number(per) : 100_000;
        if (!Number.isInteger(period) || period <= 0) throw new Error('bad period');
        return [
          ['CPUQuotaPerSecUSec', 't', q === 'max' ? INFINITY : quotaPerSec(Number(q), period)],
          ['CPUQuotaPeriodUSec', 't', BigInt(period)],
        ];
      }
      default:
        return [];
    }
  } catch (e) {
    if (e instanceof CgroupError) throw e;
    throw new CgroupError(`${field}: "${value}" is not a value systemd takes for ${key}`);
  }
}

const TYPED = /^(boolean|byte|int16|uint16|int32|uint32|int64|uint64|double|string) (.+)$/;
const SIGNATURE: Record<string, string> = {
  boolean: 'b',
  byte: 'y',
  int16: 'n',
  uint16: 'q',
  int32: 'i',
  uint32: 'u',
  int64: 'x',
  uint64: 't',
  double: 'd',
  string: 's',
};

/** `org.systemd.property.<Name>` annotations as properties. Values in GVariant text, as runc reads
 *  them: true/false, 'quoted string', a typed number ("uint64 1000"), or a bare integer (int32);
 *  a name ending in "Sec" takes seconds and is sent as <Name minus Sec>USec in microseconds. */
export function annotationProperties(annotations: Record<string, string> | undefined): UnitProperty[] {
  const p: UnitProperty[] = [];
  for (const [key, raw] of Object.entries(annotations ?? {})) {
    if (!key.startsWith(ANNOTATION)) continue;
    const name = key.slice(ANNOTATION.length);
    const field = `annotations["${key}"]`;
    if (!/^[A-Z][A-Za-z0-9]*$/.test(name)) throw new CgroupError(`${field}: "${name}" is not a systemd property name`);
    if (name === 'PIDs' || name === 'Slice' || name === 'Delegate') throw new CgroupError(`${field}: ${name} is set by the runtime`);
    const v = raw.trim();
    let sig: string;
    let value: unknown;
    const typed = TYPED.exec(v);
    if (v === 'true' || v === 'false') [sig, value] = ['b', v === 'true'];
    else if (/^'.*'$|^".*"$/.test(v)) [sig, value] = ['s', v.slice(1, -1)];
    else if (typed) {
      sig = SIGNATURE[typed[1]];
      value =
        typed[1] === 'string'
          ? typed[2].replace(/^'(.*)'$/, '$1')
          : typed[1] === 'boolean'
            ? typed[2] === 'true'
            : 'tx'.includes(sig)
              ? bigint(typed[2], field)
              : Number(typed[2]);
      if (typeof value === 'number' && !Number.isFinite(value)) throw new CgroupError(`${field}: "${raw}" is not a number`);
    } else if (/^-?\d+$/.test(v)) [sig, value] = ['i', Number(v)];
    else throw new CgroupError(`${field}: cannot read "${raw}" (give true/false, 'text', uint64 N, or a number)`);
    if (name.endsWith('Sec') && !name.endsWith('USec')) {
      if (typeof value !== 'number' && typeof value !== 'bigint') throw new CgroupError(`${field}: ${name} takes a number of seconds`);
      p.push([`${name.slice(0, -3)}USec`, 't', BigInt(Math.round(Number(value) * 1_000_000))]);
    } else p.push([name, sig, value]);
  }
  return p;
}

function bigint(s: string, field: string): bigint {
  try {
    return BigInt(s);
  } catch {
    throw new CgroupError(`${field}: "${s}" is not an integer`);
  }
}
