// cpuset: the CPUs and memory nodes (linux.resources.cpu.cpus / mems), checked against what the
// parent cgroup may use.
import { dirname } from 'node:path';
import { checkCpusetRange } from '../cpuset.js';
import { type CgroupController, F } from './controller.js';

const P = `${F}.cpu`;

export const cpuset: CgroupController = {
  resource: 'cpu',
  v1(r, c) {
    const cpu = r.cpu;
    if (!cpu?.cpus && !cpu?.mems) return;
    const dir = c.dir('cpuset', P);
    const parent = dirname(dir);
    if (cpu.cpus) {
      checkCpusetRange(`${P}.cpus`, cpu.cpus, c.read(parent, 'cpuset.effective_cpus') ?? c.read(parent, 'cpuset.cpus'));
      c.write(dir, 'cpuset.cpus', cpu.cpus, `${P}.cpus`);
    }
    if (cpu.mems) {
      checkCpusetRange(`${P}.mems`, cpu.mems, c.read(parent, 'cpuset.effective_mems') ?? c.read(parent, 'cpuset.mems'));
      c.write(dir, 'cpuset.mems', cpu.mems, `${P}.mems`);
    }
  },
  v2(r, c) {
    const cpu = r.cpu;
    if (!cpu) return;
    const dir = c.dir('cpuset', P);
    const parent = dirname(dir);
    if (cpu.cpus) {
      checkCpusetRange(`${P}.cpus`, cpu.cpus, c.read(parent, 'cpuset.cpus.effective'));
      c.writeV2(dir, 'cpuset.cpus', cpu.cpus, `${P}.cpus`);
    }
    if (cpu.mems) {
      checkCpusetRange(`${P}.mems`, cpu.mems, c.read(parent, 'cpuset.mems.effective'));
      c.writeV2(dir, 'cpuset.mems', cpu.mems, `${P}.mems`);
    }
  },
};
