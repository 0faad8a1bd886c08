// linux.intelRdt (config-linux.md "IntelRdt"). runt has no resctrl code path: no machine it is
// tested on has a resctrl filesystem, and a path that was never run is not offered. A config with
// intelRdt is refused by name; without a mounted resctrl the spec demands that error anyway.
import { readFileSync } from 'node:fs';
import type { Spec } from '../spec/types.js';
import { PlanError } from '../errors.js';

/** Whether runt carries out linux.intelRdt (the features document reports this). */
export const INTEL_RDT_SUPPORTED = false;

export function resctrlMounted(mountinfo = readMountinfo()): boolean {
  return mountinfo.split('\n').some((line) => / - resctrl /.test(line));
}

function readMountinfo(): string {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return '';
  }
}

export function checkIntelRdt(spec: Pick<Spec, 'linux'>): void {
  if (!spec.linux?.intelRdt) return;
  if (!resctrlMounted()) throw new PlanError('linux.intelRdt', 'no resctrl filesystem is mounted on this host (/sys/fs/resctrl)');
  throw new PlanError('linux.intelRdt', 'not supported by runt (resctrl is mounted, but runt has no Intel RDT code path)');
}
