// memory: limits, swap, reservation, and on v1 the kernel-memory, swappiness, OOM-killer and
// hierarchy switches (cgroup v2 has none of those: they are ignored with a warning).
import { CgroupError } from '../../errors.js';
import type { MemoryResources } from '../../spec/types.js';
import { swapToV2, v1Limit, v2Limit } from '../convert.js';
import { isCgroupErrno } from '../fs.js';
import { INT64_LIMIT } from '../validate.js';
import type { WritePlanner } from '../writes.js';
import { type CgroupController, F, isSet } from './controller.js';

const P = `${F}.memory`;

export const memory: CgroupController = {
  resource: 'memory',
  v1(r, c) {
    const mem = r.memory;
    if (!mem || !Object.values(mem).some((v) => v !== undefined)) return;
    const dir = c.dir('memory', P);
    const limit = mem.limit;
    let swap = mem.swap;
    checkUsage(c, dir, 'memory.usage_in_bytes', mem);
    const hasMemsw = c.has(dir, 'memory.memsw.limit_in_bytes');
    if (isSet(swap) && !hasMemsw) {
      throw new CgroupError(`${P}.swap: this kernel does not account swap (no memory.memsw.limit_in_bytes; boot with swapaccount=1)`);
    }
    // memory + swap can never be below memory: with unlimited memory, lift the memsw limit too.
    if (limit === -1 && !isSet(swap) && hasMemsw) swap = -1;
    const writeLimit = () => isSet(limit) && c.write(dir, 'memory.limit_in_bytes', v1Limit(limit), `${P}.limit`);
    const writeSwap = () => isSet(swap) && c.write(dir, 'memory.memsw.limit_in_bytes', v1Limit(swap), `${P}.swap`);
    if (isSet(swap)) {
      // The kernel keeps limit <= memsw at every step, so raise memsw first and lower it last.
      const current = Number(c.read(dir, 'memory.memsw.limit_in_bytes') ?? 0);
      const raising = swap === -1 || swap >= INT64_LIMIT || swap > current;
      if (raising) {
        writeSwap();
        writeLimit();
      } else {
        writeLimit();
        writeSwap();
      }
    } else {
      writeLimit();
    }
    if (isSet(mem.reservation)) c.write(dir, 'memory.soft_limit_in_bytes', v1Limit(mem.reservation), `${P}.reservation`);
    if (isSet(mem.kernel)) writeKernelLimit(c, dir, 'memory.kmem.limit_in_bytes', v1Limit(mem.kernel), `${P}.kernel`);
    if (isSet(mem.kernelTCP)) writeKernelLimit(c, dir, 'memory.kmem.tcp.limit_in_bytes', v1Limit(mem.kernelTCP), `${P}.kernelTCP`);
    if (mem.swappiness !== undefined) c.write(dir, 'memory.swappiness', String(mem.swappiness), `${P}.swappiness`);
    if (mem.disableOOMKiller !== undefined) {
      c.write(dir, 'memory.oom_control', mem.disableOOMKiller ? '1' : '0', `${P}.disableOOMKiller`);
    }
    if (mem.useHierarchy !== undefined) {
      const file = `${dir}/memory.use_hierarchy`;
      c.write(dir, 'memory.use_hierarchy', mem.useHierarchy ? '1' : '0', `${P}.useHierarchy`, {
        // Since Linux 5.16 hierarchy is always on and writing 0 is refused.
        tolerate: (_e, read) =>
          !mem.useHierarchy && read(file) === '1'
            ? `${P}.useHierarchy: false is ignored, this kernel always accounts memory hierarchically`
            : undefined,
      });
    }
  },
  v2(r, c) {
    const mem = r.memory;
    if (!mem) return;
    const dir = c.dir('memory', P);
    checkUsage(c, dir, 'memory.current', mem);
    const swap = swapToV2(mem.swap, mem.limit);
    if (isSet(mem.limit)) c.writeV2(dir, 'memory.max', v2Limit(mem.limit), `${P}.limit`);
    if (swap !== undefined) {
      if (c.has(dir, 'memory.swap.max')) c.writeV2(dir, 'memory.swap.max', swap, `${P}.swap`);
      else if (swap !== 'max') throw new CgroupError(`${P}.swap: this kernel does not account swap (no memory.swap.max)`);
    }
    if (isSet(mem.reservation)) c.writeV2(dir, 'memory.low', v2Limit(mem.reservation), `${P}.reservation`);
    if (isSet(mem.kernel)) c.warn(`${P}.kernel: ignored, cgroup v2 has no separate kernel memory limit`);
    if (isSet(mem.kernelTCP)) c.warn(`${P}.kernelTCP: ignored, cgroup v2 has no separate kernel TCP memory limit`);
    if (mem.swappiness !== undefined) c.warn(`${P}.swappiness: ignored, cgroup v2 has no per-cgroup swappiness`);
    if (mem.disableOOMKiller) c.warn(`${P}.disableOOMKiller: ignored, cgroup v2 cannot disable the OOM killer`);
    if (mem.useHierarchy === false) c.warn(`${P}.useHierarchy: false is ignored, cgroup v2 is always hierarchical`);
  },
};

/** checkBeforeUpdate: refuse a limit below what the cgroup uses now (a host check: needs a probe). */
function checkUsage(c: WritePlanner, dir: string, usageFile: string, mem: MemoryResources): void {
  if (!mem.checkBeforeUpdate || !isSet(mem.limit) || mem.limit < 0) return;
  const text = c.readRequired(dir, usageFile);
  if (text === undefined) return;
  const usage = Number(text);
  if (mem.limit < usage) throw new CgroupError(`${P}.limit: ${mem.limit} is below the current usage (${usage})`);
}

/** Kernel memory limits are deprecated: files may be gone or refuse writes; warn and go on. */
function writeKernelLimit(c: WritePlanner, dir: string, file: string, value: string, field: string): void {
  if (!c.has(dir, file)) {
    c.warn(`${field}: ignored, this kernel has no ${file}`);
    return;
  }
  c.write(dir, file, value, field, {
    tolerate: (e) =>
      isCgroupErrno(e, 'EOPNOTSUPP') || isCgroupErrno(e, 'ENOTSUP')
        ? `${field}: ignored, this kernel no longer limits ${file.replace(/\.limit_in_bytes$/, '')}`
        : undefined,
  });
}
