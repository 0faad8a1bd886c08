// The controller modules in the order their writes go (devices first: before anything runs in the
// cgroup; unified last: explicit v2 values win over converted ones). To add a resource: a module
// next to these, and its place in this list.
import type { Resources } from '../../spec/types.js';
import { validateResources } from '../validate.js';
import { type CgroupProbe, type CgroupWritePlan, type WriteTarget, WritePlanner } from '../writes.js';
import { blkio } from './blkio.js';
import type { CgroupController } from './controller.js';
import { cpu } from './cpu.js';
import { cpuset } from './cpuset.js';
import { devices } from './devices.js';
import { hugetlb } from './hugetlb.js';
import { memory } from './memory.js';
import { network } from './network.js';
import { pids } from './pids.js';
import { rdma } from './rdma.js';
import { unified } from './unified.js';

export const CONTROLLERS: readonly CgroupController[] = [devices, memory, cpu, cpuset, pids, blkio, hugetlb, network, rdma, unified];

/** linux.resources (validated here) as the writes for `target`; `probe` reads the host, undefined
 *  when nothing exists yet (explain). Throws naming the field when a value is impossible or the
 *  host lacks what it needs. */
export function planCgroupWrites(resources: Resources, target: WriteTarget, probe: CgroupProbe | undefined): CgroupWritePlan {
  const r = validateResources(resources);
  const c = new WritePlanner(target, probe);
  for (const controller of CONTROLLERS) controller[target.version](r, c);
  return { writes: c.writes, warnings: c.warnings };
}
