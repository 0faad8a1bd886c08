// How OCI's (v1-shaped) linux.resources values become cgroup v2 file values. The same numbers
// runc and crun write, so a container gets the same limits whichever runtime starts it.
import { PlanError } from '../errors.js';
import { INT64_LIMIT } from './validate.js';

/** A limit in v1 files: -1 (or anything past int64) is "-1", the kernel's "no limit". */
export function v1Limit(n: number): string {
  return n === -1 || n >= INT64_LIMIT ? '-1' : String(n);
}

/** A limit in v2 files: -1 (or anything past int64) is "max". */
export function v2Limit(n: number): string {
  return n === -1 || n >= INT64_LIMIT ? 'max' : String(n);
}

/** cpu.shares [2, 262144] → cpu.weight [1, 10000], linearly (runc's formula); 0 stays unset. */
export function cpuSharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** blkio.weight [10, 1000] → io.weight [1, 10000], linearly (crun's formula, used when the io
 *  controller has no io.bfq.weight, which takes the v1 value as is). */
export function blkioWeightToIoWeight(weight: number): number {
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/** memory.swap in OCI is memory + swap (v1's memsw); v2's memory.swap.max is the swap alone.
 *  Returns the memory.swap.max value, or undefined when nothing is to be written. */
export function swapToV2(swap: number | undefined, limit: number | undefined): string | undefined {
  const unlimited = (n: number | undefined) => n === -1 || (n !== undefined && n >= INT64_LIMIT);
  // Unlimited memory with no swap setting: swap is unlimited too (as on v1, where memsw follows).
  if ((swap === undefined || swap === 0) && unlimited(limit)) return 'max';
  if (swap === undefined || swap === 0) return undefined;
  if (unlimited(swap)) return 'max';
  if (limit === undefined || limit === 0) {
    throw new PlanError('linux.resources.memory.swap', 'needs memory.limit on cgroup v2 (swap is given as memory + swap)');
  }
  if (unlimited(limit)) {
    throw new PlanError('linux.resources.memory.swap', 'cannot be limited while memory.limit is -1 (unlimited)');
  }
  if (swap < limit) throw new PlanError('linux.resources.memory.swap', `must be at least memory.limit (${limit})`);
  return String(swap - limit);
}

/** cpu.quota/cpu.period → cpu.max "<quota|max> <period>"; undefined when neither is set. */
export function cpuMax(quota: number | undefined, period: number | undefined): string | undefined {
  if (!quota && !period) return undefined;
  const q = quota !== undefined && quota > 0 ? String(quota) : 'max';
  return `${q} ${period || 100000}`;
}

/** One io.max line for a throttle entry: "8:0 rbps=1048576". */
export function ioMaxLine(major: number, minor: number, key: 'rbps' | 'wbps' | 'riops' | 'wiops', rate: number): string {
  return `${major}:${minor} ${key}=${rate === 0 ? 'max' : rate}`;
}
