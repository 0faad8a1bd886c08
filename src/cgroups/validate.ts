// Checks linux.resources before anything is written, so a bad value fails with the field's name
// instead of half-applied limits and a kernel errno.
import { PlanError } from '../errors.js';
import type { Resources } from '../spec/types.js';

const FIELD = 'linux.resources';
/** Values at or above 2^63 overflow the kernel's int64 and can only mean "no limit". */
export const INT64_LIMIT = 2 ** 63;

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function object(path: string, v: unknown): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw new PlanError(path, 'must be an object');
  return v;
}

function array(path: string, v: unknown): unknown[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new PlanError(path, 'must be an array');
  return v;
}

interface IntRule {
  min?: number;
  max?: number;
  /** -1 is accepted as "unlimited" even when min is higher. */
  minusOne?: boolean;
  /** Wording of the lower bound in the error. */
  what?: string;
}

function int(path: string, v: unknown, rule: IntRule = {}): void {
  if (v === undefined || v === null) return;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new PlanError(path, 'must be an integer');
  if (rule.minusOne && v === -1) return;
  const min = rule.min ?? 0;
  if (v < min)
    throw new PlanError(
      path,
      rule.what ?? (min === 0 ? `must not be negative${rule.minusOne ? ' (or -1 for no limit)' : ''}` : `must be at least ${min}`),
    );
  if (rule.max !== undefined && v > rule.max) throw new PlanError(path, `must be at most ${rule.max}`);
}

function bool(path: string, v: unknown): void {
  if (v !== undefined && v !== null && typeof v !== 'boolean') throw new PlanError(path, 'must be true or false');
}

function str(path: string, v: unknown): void {
  if (v !== undefined && v !== null && typeof v !== 'string') throw new PlanError(path, 'must be a string');
}

/** Parse a cpuset list ("0-3,7"); throws naming the field when malformed. */
export function parseCpuList(path: string, list: string): number[] {
  const out: number[] = [];
  if (list.trim() === '') return out;
  for (const part of list.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new PlanError(path, `"${list}" is not a list like 0-3,7`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new PlanError(path, `range ${part} runs backwards`);
    if (hi - lo > 65536) throw new PlanError(path, `range ${part} is too large`);
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

const MEMORY_LIMITS = ['limit', 'reservation', 'swap', 'kernel', 'kernelTCP'] as const;

function checkMemory(m: Obj): void {
  const p = `${FIELD}.memory`;
  for (const k of MEMORY_LIMITS) int(`${p}.${k}`, m[k], { minusOne: true, what: 'must be positive (or -1 for no limit)' });
  int(`${p}.swappiness`, m.swappiness, { max: 100 });
  for (const k of ['disableOOMKiller', 'useHierarchy', 'checkBeforeUpdate']) bool(`${p}.${k}`, m[k]);
  const limit = m.limit as number | undefined;
  const swap = m.swap as number | undefined;
  if (limit && swap && limit > 0 && swap > 0 && swap < limit) {
    throw new PlanError(`${p}.swap`, `must be at least memory.limit (${limit}): it limits memory + swap`);
  }
}

function checkCpu(c: Obj): void {
  const p = `${FIELD}.cpu`;
  int(`${p}.shares`, c.shares);
  if (typeof c.shares === 'number' && c.shares !== 0 && (c.shares < 2 || c.shares > 262144)) {
    throw new PlanError(`${p}.shares`, 'must be between 2 and 262144');
  }
  int(`${p}.quota`, c.quota, { minusOne: true });
  int(`${p}.period`, c.period);
  int(`${p}.burst`, c.burst);
  int(`${p}.realtimeRuntime`, c.realtimeRuntime, { minusOne: true });
  int(`${p}.realtimePeriod`, c.realtimePeriod);
  int(`${p}.idle`, c.idle, { max: 1 });
  str(`${p}.cpus`, c.cpus);
  str(`${p}.mems`, c.mems);
  if (typeof c.cpus === 'string') parseCpuList(`${p}.cpus`, c.cpus);
  if (typeof c.mems === 'string') parseCpuList(`${p}.mems`, c.mems);
  if (typeof c.burst === 'number' && typeof c.quota === 'number' && c.quota > 0 && c.burst > c.quota) {
    throw new PlanError(`${p}.burst`, `must not be larger than quota (${c.quota})`);
  }
}

function checkDevice(p: string, d: Obj): void {
  int(`${p}.major`, d.major, { minusOne: true });
  int(`${p}.minor`, d.minor, { minusOne: true });
}

function checkBlockIO(b: Obj): void {
  const p = `${FIELD}.blockIO`;
  const weight = (path: string, v: unknown) => {
    int(path, v);
    if (typeof v === 'number' && v !== 0 && (v < 10 || v > 1000)) throw new PlanError(path, 'must be between 10 and 1000');
  };
  weight(`${p}.weight`, b.weight);
  weight(`${p}.leafWeight`, b.leafWeight);
  (array(`${p}.weightDevice`, b.weightDevice) ?? []).forEach((e, i) => {
    const q = `${p}.weightDevice[${i}]`;
    const d = object(q, e) ?? {};
    checkDevice(q, d);
    weight(`${q}.weight`, d.weight);
    weight(`${q}.leafWeight`, d.leafWeight);
    if (d.weight === undefined && d.leafWeight === undefined) throw new PlanError(q, 'needs weight or leafWeight');
  });
  for (const k of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice']) {
    (array(`${p}.${k}`, b[k]) ?? []).forEach((e, i) => {
      const q = `${p}.${k}[${i}]`;
      const d = object(q, e) ?? {};
      checkDevice(q, d);
      if (d.rate === undefined) throw new PlanError(`${q}.rate`, 'is required');
      int(`${q}.rate`, d.rate);
    });
  }
}

export const HUGEPAGE_SIZE = /^\d+(KB|MB|GB|TB|PB)$/;

function checkDevices(list: unknown[]): void {
  list.forEach((e, i) => {
    const p = `${FIELD}.devices[${i}]`;
    const d = object(p, e) ?? {};
    if (typeof d.allow !== 'boolean') throw new PlanError(`${p}.allow`, 'is required (true or false)');
    if (d.type !== undefined && d.type !== null && !['a', 'c', 'b'].includes(d.type as string)) {
      throw new PlanError(`${p}.type`, `unknown device type ${JSON.stringify(d.type)} (a, c or b)`);
    }
    int(`${p}.major`, d.major, { minusOne: true, max: 0xfff });
    int(`${p}.minor`, d.minor, { minusOne: true, max: 0xfffff });
    str(`${p}.access`, d.access);
    if (typeof d.access === 'string' && !/^[rwm]*$/.test(d.access)) {
      throw new PlanError(`${p}.access`, `${JSON.stringify(d.access)} is not a combination of r, w and m`);
    }
  });
}

/** Validate linux.resources and return it typed; throws PlanError naming the first bad field. */
export function validateResources(input: unknown): Resources {
  const r = object(FIELD, input) ?? {};
  checkDevices(array(`${FIELD}.devices`, r.devices) ?? []);
  const memory = object(`${FIELD}.memory`, r.memory);
  if (memory) checkMemory(memory);
  const cpu = object(`${FIELD}.cpu`, r.cpu);
  if (cpu) checkCpu(cpu);
  const pids = object(`${FIELD}.pids`, r.pids);
  if (pids) int(`${FIELD}.pids.limit`, pids.limit, { minusOne: true });
  const blockIO = object(`${FIELD}.blockIO`, r.blockIO);
  if (blockIO) checkBlockIO(blockIO);
  (array(`${FIELD}.hugepageLimits`, r.hugepageLimits) ?? []).forEach((e, i) => {
    const p = `${FIELD}.hugepageLimits[${i}]`;
    const h = object(p, e) ?? {};
    if (typeof h.pageSize !== 'string' || !HUGEPAGE_SIZE.test(h.pageSize)) {
      throw new PlanError(`${p}.pageSize`, `${JSON.stringify(h.pageSize)} is not a size like 2MB or 1GB`);
    }
    if (h.limit === undefined) throw new PlanError(`${p}.limit`, 'is required');
    int(`${p}.limit`, h.limit);
  });
  const network = object(`${FIELD}.network`, r.network);
  if (network) {
    int(`${FIELD}.network.classID`, network.classID, { max: 0xffffffff });
    (array(`${FIELD}.network.priorities`, network.priorities) ?? []).forEach((e, i) => {
      const p = `${FIELD}.network.priorities[${i}]`;
      const n = object(p, e) ?? {};
      if (typeof n.name !== 'string' || n.name === '' || /\s/.test(n.name)) throw new PlanError(`${p}.name`, 'must be an interface name');
      int(`${p}.priority`, n.priority, { max: 0xffffffff });
    });
  }
  const rdma = object(`${FIELD}.rdma`, r.rdma);
  for (const [dev, v] of Object.entries(rdma ?? {})) {
    const p = `${FIELD}.rdma.${dev}`;
    if (/\s/.test(dev) || dev === '') throw new PlanError(p, 'invalid device name');
    const l = object(p, v) ?? {};
    int(`${p}.hcaHandles`, l.hcaHandles, { max: 0xffffffff });
    int(`${p}.hcaObjects`, l.hcaObjects, { max: 0xffffffff });
    if (l.hcaHandles === undefined && l.hcaObjects === undefined) throw new PlanError(p, 'needs hcaHandles or hcaObjects');
  }
  const unified = object(`${FIELD}.unified`, r.unified);
  for (const [k, v] of Object.entries(unified ?? {})) {
    const p = `${FIELD}.unified["${k}"]`;
    if (k === '' || k.includes('/') || k === '.' || k === '..' || !k.includes('.')) throw new PlanError(p, 'is not a cgroup file name');
    if (typeof v !== 'string') throw new PlanError(p, 'must be a string');
  }
  return r as Resources;
}
