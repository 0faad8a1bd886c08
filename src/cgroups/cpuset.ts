// cpuset lists ("0-3,7") checked against what the parent cgroup may use.
import { PlanError } from '../errors.js';
import { parseCpuList } from './validate.js';

/** Throws naming the field when `list` names a CPU (or memory node) outside `available`
 *  (the parent's effective list); no check when the parent's list is unknown. */
export function checkCpusetRange(field: string, list: string, available: string | undefined): void {
  if (available === undefined) return;
  const allowed = new Set(parseCpuList(field, available));
  const missing = parseCpuList(field, list).filter((n) => !allowed.has(n));
  if (missing.length) {
    throw new PlanError(field, `${cpuListText(missing)} not available (the parent cgroup has ${available || 'none'})`);
  }
}

/** Sorted numbers in the kernel's list form: [2, 3, 4, 7] → "2-4,7". */
export function cpuListText(nums: number[]): string {
  const parts: string[] = [];
  const sorted = [...new Set(nums)].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    const lo = sorted[i];
    while (sorted[i + 1] === sorted[i] + 1) i++;
    parts.push(lo === sorted[i] ? String(lo) : `${lo}-${sorted[i]}`);
  }
  return parts.join(',');
}
