// Resource statistics in runc's `events --stats` shape (runc types.Stats, the `data` of the event):
// cpu, cpuset, memory, pids, blkio, hugetlb. Sections whose controller is missing stay empty.
import { readdirSync } from 'node:fs';
import type { CgroupStats } from './manager.js';
import { tryReadCgroupFile } from './fs.js';

/** What runc reports for "no limit": math.MaxUint64 (as a JS number it prints 18446744073709552000). */
const UNLIMITED = 2 ** 64 - 1;
/** USER_HZ: the unit of cpuacct.stat. */
const USER_HZ = 100;

interface BlkioEntry {
  major: number;
  minor: number;
  op: string;
  value: number;
}

/** JSON text of a stats (or event) object with large integers printed exactly, as runc's Go encoder
 *  does: JSON.stringify would print MaxUint64 as 18446744073709552000, which overflows a uint64 in
 *  strict parsers such as Go's. */
export function statsJson(value: unknown): string {
  const mark = '\u0000int:';
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) <= Number.MAX_SAFE_INTEGER) return v;
    return `${mark}${v === UNLIMITED ? '18446744073709551615' : BigInt(v).toString()}`;
  });
  return text.replace(/"\\u0000int:(-?\d+)"/g, '$1');
}

function num(v: string | undefined): number {
  if (v === undefined || v === '') return 0;
  if (v === 'max') return UNLIMITED;
  const n = Number(v);
  return Number.isFinite(n) ? n : 0;
}

function numList(v: string | undefined): number[] {
  return (v ?? '').split(/\s+/).filter(Boolean).map(Number);
}

/** "key value" lines (memory.stat, cpu.stat) → map. */
function flatKeyed(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out[k] = num(v);
  }
  return out;
}

function cpusetList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? '').split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.push(i);
  }
  return out;
}

/** Huge page sizes the kernel has, in the cgroup file spelling ("2MB", "1GB"). */
export function hugePageSizes(): string[] {
  let names: string[];
  try {
    names = readdirSync('/sys/kernel/mm/hugepages');
  } catch {
    return [];
  }
  const units = ['KB', 'MB', 'GB', 'TB'];
  return names.flatMap((n) => {
    const m = /^hugepages-(\d+)kB$/.exec(n);
    if (!m) return [];
    let size = Number(m[1]);
    let u = 0;
    while (size >= 1024 && size % 1024 === 0 && u < units.length - 1) {
      size /= 1024;
      u++;
    }
    return [`${size}${units[u]}`];
  });
}

/** v1 blkio "8:0 Read 4096" lines (the "Total" line dropped). */
function blkioV1(text: string | undefined): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const m = /^(\d+):(\d+) (\S+) (\d+)$/.exec(line.trim());
    if (m) out.push({ major: Number(m[1]), minor: Number(m[2]), op: m[3], value: Number(m[4]) });
  }
  return out;
}

function memoryEntryV1(dir: string, prefix: string) {
  return {
    limit: num(tryReadCgroupFile(dir, `${prefix}.limit_in_bytes`)),
    usage: num(tryReadCgroupFile(dir, `${prefix}.usage_in_bytes`)),
    max: num(tryReadCgroupFile(dir, `${prefix}.max_usage_in_bytes`)),
    failcnt: num(tryReadCgroupFile(dir, `${prefix}.failcnt`)),
  };
}

export function v1Stats(m: { dirOf(subsystem: string): string | undefined }): CgroupStats {
  const stats: Record<string, unknown> = { cpu: {}, cpuset: {}, memory: {}, pids: {}, blkio: {}, hugetlb: {} };
  const cpuacct = m.dirOf('cpuacct');
  const cpu = m.dirOf('cpu');
  if (cpuacct || cpu) {
    const usage: Record<string, unknown> = {};
    if (cpuacct) {
      usage.total = num(tryReadCgroupFile(cpuacct, 'cpuacct.usage'));
      usage.percpu = numList(tryReadCgroupFile(cpuacct, 'cpuacct.usage_percpu'));
      usage.percpu_kernel = numList(tryReadCgroupFile(cpuacct, 'cpuacct.usage_percpu_sys'));
      usage.percpu_user = numList(tryReadCgroupFile(cpuacct, 'cpuacct.usage_percpu_user'));
      const sys = tryReadCgroupFile(cpuacct, 'cpuacct.usage_sys');
      const user = tryReadCgroupFile(cpuacct, 'cpuacct.usage_user');
      if (sys !== undefined && user !== undefined) {
        usage.kernel = num(sys);
        usage.user = num(user);
      } else {
        const ticks = flatKeyed(tryReadCgroupFile(cpuacct, 'cpuacct.stat'));
        usage.kernel = (ticks.system ?? 0) * (1e9 / USER_HZ);
        usage.user = (ticks.user ?? 0) * (1e9 / USER_HZ);
      }
    }
    const s = cpu ? flatKeyed(tryReadCgroupFile(cpu, 'cpu.stat')) : {};
    stats.cpu = {
      usage,
      throttling: { periods: s.nr_periods ?? 0, throttledPeriods: s.nr_throttled ?? 0, throttledTime: s.throttled_time ?? 0 },
    };
  }
  const cpuset = m.dirOf('cpuset');
  if (cpuset) {
    const f = (name: string) => num(tryReadCgroupFile(cpuset, `cpuset.${name}`));
    stats.cpuset = {
      cpus: cpusetList(tryReadCgroupFile(cpuset, 'cpuset.effective_cpus') ?? tryReadCgroupFile(cpuset, 'cpuset.cpus')),
      cpu_exclusive: f('cpu_exclusive'),
      mems: cpusetList(tryReadCgroupFile(cpuset, 'cpuset.effective_mems') ?? tryReadCgroupFile(cpuset, 'cpuset.mems')),
      mem_hardwall: f('mem_hardwall'),
      mem_exclusive: f('mem_exclusive'),
      memory_migrate: f('memory_migrate'),
      memory_spread_page: f('memory_spread_page'),
      memory_spread_slab: f('memory_spread_slab'),
      memory_pressure: f('memory_pressure'),
      sched_load_balance: f('sched_load_balance'),
      sched_relax_domain_level: f('sched_relax_domain_level'),
    };
  }
  const memory = m.dirOf('memory');
  if (memory) {
    const raw = flatKeyed(tryReadCgroupFile(memory, 'memory.stat'));
    stats.memory = {
      cache: raw.total_cache ?? raw.cache ?? 0,
      usage: memoryEntryV1(memory, 'memory'),
      swap: memoryEntryV1(memory, 'memory.memsw'),
      kernel: memoryEntryV1(memory, 'memory.kmem'),
      kernelTCP: memoryEntryV1(memory, 'memory.kmem.tcp'),
      raw,
    };
  }
  const pids = m.dirOf('pids');
  if (pids) {
    const limit = tryReadCgroupFile(pids, 'pids.max');
    stats.pids = { current: num(tryReadCgroupFile(pids, 'pids.current')), limit: limit === 'max' ? 0 : num(limit) };
  }
  const blkio = m.dirOf('blkio');
  if (blkio) {
    // The scheduler's counters when it keeps them (CFQ, BFQ), else the throttle layer's.
    const pick = (name: string) => {
      for (const prefix of ['blkio', 'blkio.bfq', 'blkio.throttle']) {
        const entries = blkioV1(tryReadCgroupFile(blkio, `${prefix}.${name}`));
        if (entries.length) return entries;
      }
      return [];
    };
    stats.blkio = {
      ioServiceBytesRecursive: pick('io_service_bytes_recursive'),
      ioServicedRecursive: pick('io_serviced_recursive'),
      ioQueueRecursive: blkioV1(tryReadCgroupFile(blkio, 'blkio.io_queued_recursive')),
      ioServiceTimeRecursive: blkioV1(tryReadCgroupFile(blkio, 'blkio.io_service_time_recursive')),
      ioWaitTimeRecursive: blkioV1(tryReadCgroupFile(blkio, 'blkio.io_wait_time_recursive')),
      ioMergedRecursive: blkioV1(tryReadCgroupFile(blkio, 'blkio.io_merged_recursive')),
      ioTimeRecursive: blkioV1(tryReadCgroupFile(blkio, 'blkio.time_recursive')),
      sectorsRecursive: blkioV1(tryReadCgroupFile(blkio, 'blkio.sectors_recursive')),
    };
  }
  const hugetlb = m.dirOf('hugetlb');
  if (hugetlb) {
    stats.hugetlb = Object.fromEntries(
      hugePageSizes().map((size) => [
        size,
        {
          usage: num(tryReadCgroupFile(hugetlb, `hugetlb.${size}.usage_in_bytes`)),
          max: num(tryReadCgroupFile(hugetlb, `hugetlb.${size}.max_usage_in_bytes`)),
          failcnt: num(tryReadCgroupFile(hugetlb, `hugetlb.${size}.failcnt`)),
        },
      ]),
    );
  }
  return stats;
}

/** io.stat "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" → runc's blkio entries. */
function ioStat(text: string | undefined): { bytes: BlkioEntry[]; ios: BlkioEntry[] } {
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(dev ?? '');
    if (!m) continue;
    const kv = Object.fromEntries(pairs.map((p) => p.split('=')));
    const entry = (op: string, v: string | undefined): BlkioEntry => ({ major: Number(m[1]), minor: Number(m[2]), op, value: num(v) });
    bytes.push(entry('Read', kv.rbytes), entry('Write', kv.wbytes));
    ios.push(entry('Read', kv.rios), entry('Write', kv.wios));
  }
  return { bytes, ios };
}

/** Count of one key of a flat-keyed events file (memory.events "max 3"). */
function eventCount(dir: string, file: string, key: string): number {
  return flatKeyed(tryReadCgroupFile(dir, file))[key] ?? 0;
}

export function v2Stats(dir: string): CgroupStats {
  const cpu = flatKeyed(tryReadCgroupFile(dir, 'cpu.stat'));
  const raw = flatKeyed(tryReadCgroupFile(dir, 'memory.stat'));
  const current = num(tryReadCgroupFile(dir, 'memory.current'));
  const swapCurrent = num(tryReadCgroupFile(dir, 'memory.swap.current'));
  const memMax = num(tryReadCgroupFile(dir, 'memory.max') ?? 'max');
  const swapMax = num(tryReadCgroupFile(dir, 'memory.swap.max') ?? 'max');
  const io = ioStat(tryReadCgroupFile(dir, 'io.stat'));
  const pidsMax = tryReadCgroupFile(dir, 'pids.max');
  const cpusetFile = (name: string) => tryReadCgroupFile(dir, `cpuset.${name}.effective`) ?? tryReadCgroupFile(dir, `cpuset.${name}`);
  return {
    cpu: {
      usage: {
        total: (cpu.usage_usec ?? 0) * 1000,
        kernel: (cpu.system_usec ?? 0) * 1000,
        user: (cpu.user_usec ?? 0) * 1000,
      },
      throttling: {
        periods: cpu.nr_periods ?? 0,
        throttledPeriods: cpu.nr_throttled ?? 0,
        throttledTime: (cpu.throttled_usec ?? 0) * 1000,
      },
    },
    cpuset: { cpus: cpusetList(cpusetFile('cpus')), mems: cpusetList(cpusetFile('mems')) },
    memory: {
      cache: raw.file ?? 0,
      usage: {
        limit: memMax,
        usage: current,
        max: num(tryReadCgroupFile(dir, 'memory.peak')),
        failcnt: eventCount(dir, 'memory.events', 'max'),
      },
      // runc reports v1's memory+swap view: usage and limit of both together.
      swap: {
        limit: memMax === UNLIMITED || swapMax === UNLIMITED ? UNLIMITED : memMax + swapMax,
        usage: current + swapCurrent,
        failcnt: eventCount(dir, 'memory.swap.events', 'max'),
      },
      raw,
    },
    pids: { current: num(tryReadCgroupFile(dir, 'pids.current')), limit: pidsMax === 'max' ? 0 : num(pidsMax) },
    blkio: { ioServiceBytesRecursive: io.bytes, ioServicedRecursive: io.ios },
    hugetlb: Object.fromEntries(
      hugePageSizes()
        .filter((s) => tryReadCgroupFile(dir, `hugetlb.${s}.current`) !== undefined)
        .map((s) => [
          s,
          {
            usage: num(tryReadCgroupFile(dir, `hugetlb.${s}.current`)),
            max: num(tryReadCgroupFile(dir, `hugetlb.${s}.max`)),
            failcnt: eventCount(dir, `hugetlb.${s}.events`, 'max'),
          },
        ]),
    ),
  };
}
