// cpu: shares/weight, CFS quota and period, burst, the realtime budget (v1 only) and idle.
import { CgroupError } from '../../errors.js';
import { cpuMax, cpuSharesToWeight, v1Limit } from '../convert.js';
import { type CgroupController, F } from './controller.js';

const P = `${F}.cpu`;

export const cpu: CgroupController = {
  resource: 'cpu',
  v1(r, c) {
    const cpu = r.cpu;
    if (!cpu) return;
    const dir = () => c.dir('cpu', P);
    if (cpu.shares) c.write(dir(), 'cpu.shares', String(cpu.shares), `${P}.shares`);
    c.writePair(
      cpu.period ? () => c.write(dir(), 'cpu.cfs_period_us', String(cpu.period), `${P}.period`) : undefined,
      cpu.quota ? () => c.write(dir(), 'cpu.cfs_quota_us', v1Limit(cpu.quota!), `${P}.quota`) : undefined,
    );
    if (cpu.burst !== undefined) {
      if (!c.has(dir(), 'cpu.cfs_burst_us')) throw new CgroupError(`${P}.burst: this kernel has no cpu.cfs_burst_us (Linux 5.14+)`);
      c.write(dir(), 'cpu.cfs_burst_us', String(cpu.burst), `${P}.burst`);
    }
    c.writePair(
      cpu.realtimePeriod ? () => c.write(dir(), 'cpu.rt_period_us', String(cpu.realtimePeriod), `${P}.realtimePeriod`) : undefined,
      cpu.realtimeRuntime ? () => c.write(dir(), 'cpu.rt_runtime_us', String(cpu.realtimeRuntime), `${P}.realtimeRuntime`) : undefined,
    );
    if (cpu.idle !== undefined) c.write(dir(), 'cpu.idle', String(cpu.idle), `${P}.idle`);
  },
  v2(r, c) {
    const cpu = r.cpu;
    if (!cpu) return;
    const dir = c.dir('cpu', P);
    if (cpu.shares) c.writeV2(dir, 'cpu.weight', String(cpuSharesToWeight(cpu.shares)), `${P}.shares`);
    const max = cpuMax(cpu.quota, cpu.period);
    if (max) c.writeV2(dir, 'cpu.max', max, cpu.quota ? `${P}.quota` : `${P}.period`);
    if (cpu.burst !== undefined) c.writeV2(dir, 'cpu.max.burst', String(cpu.burst), `${P}.burst`);
    if (cpu.realtimeRuntime || cpu.realtimePeriod) {
      throw new CgroupError(`${P}.${cpu.realtimeRuntime ? 'realtimeRuntime' : 'realtimePeriod'}: cgroup v2 has no realtime CPU budget`);
    }
    if (cpu.idle !== undefined) c.writeV2(dir, 'cpu.idle', String(cpu.idle), `${P}.idle`);
  },
};
