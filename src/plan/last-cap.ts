// The highest capability number the running kernel knows; capability sets are built up to it.
import { readFileSync } from 'node:fs';

let cached: number | undefined;

export function lastCap(): number {
  cached ??= Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  return cached;
}
