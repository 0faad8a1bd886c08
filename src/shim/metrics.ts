// A container's cgroup statistics (runc's `events --stats` shape, from the library) as containerd's
// metrics messages: io.containerd.cgroups.v1.Metrics for a v1 (or hybrid) container,
// io.containerd.cgroups.v2.Metrics for a cgroup v2 one — the types `ctr task metrics` and the CRI
// plugin decode from StatsResponse.stats.
import type { CgroupStats } from '../cgroups/manager.js';
import { messageType, toAny, type AnyMessage } from './proto.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Fields of message `type` taken from `raw` (memory.stat keys), matched without underscores
 *  (pg_pg_in ← pgpgin, total_rss_huge ← total_rss_huge). */
function fromRaw(type: string, raw: Record<string, number> = {}): Obj {
  const byKey = new Map(Object.entries(raw).map(([k, v]) => [k.replace(/_/g, ''), v]));
  const out: Obj = {};
  for (const name of Object.keys(messageType(type).fields)) {
    const v = byKey.get(name.replace(/_/g, ''));
    if (typeof v === 'number') out[name] = v;
  }
  return out;
}

const blkio = (entries: Obj[] = []) => entries.map((e) => ({ op: e.op, major: e.major, minor: e.minor, value: e.value }));

export function v1Metrics(s: CgroupStats): AnyMessage {
  const st = s as Obj;
  const cpu = st.cpu ?? {};
  const mem = st.memory ?? {};
  const entry = (e: Obj | undefined) => (e ? { limit: e.limit, usage: e.usage, max: e.max, failcnt: e.failcnt } : undefined);
  const io = st.blkio ?? {};
  return toAny('io.containerd.cgroups.v1.Metrics', {
    hugetlb: Object.entries(st.hugetlb ?? {}).map(([pagesize, h]) => ({ ...(h as Obj), pagesize })),
    pids: st.pids ? { current: st.pids.current ?? 0, limit: st.pids.limit ?? 0 } : undefined,
    cpu: {
      usage: { total: cpu.usage?.total ?? 0, kernel: cpu.usage?.kernel ?? 0, user: cpu.usage?.user ?? 0, per_cpu: cpu.usage?.percpu ?? [] },
      throttling: {
        periods: cpu.throttling?.periods ?? 0,
        throttled_periods: cpu.throttling?.throttledPeriods ?? 0,
        throttled_time: cpu.throttling?.throttledTime ?? 0,
      },
    },
    memory: {
      ...fromRaw('io.containerd.cgroups.v1.MemoryStat', mem.raw),
      usage: entry(mem.usage),
      swap: entry(mem.swap),
      kernel: entry(mem.kernel),
      kernel_tcp: entry(mem.kernelTCP),
    },
    blkio: {
      io_service_bytes_recursive: blkio(io.ioServiceBytesRecursive),
      io_serviced_recursive: blkio(io.ioServicedRecursive),
      io_queued_recursive: blkio(io.ioQueueRecursive),
      io_service_time_recursive: blkio(io.ioServiceTimeRecursive),
      io_wait_time_recursive: blkio(io.ioWaitTimeRecursive),
      io_merged_recursive: blkio(io.ioMergedRecursive),
      io_time_recursive: blkio(io.ioTimeRecursive),
      sectors_recursive: blkio(io.sectorsRecursive),
    },
  });
}

export function v2Metrics(s: CgroupStats): AnyMessage {
  const st = s as Obj;
  const cpu = st.cpu ?? {};
  const mem = st.memory ?? {};
  return toAny('io.containerd.cgroups.v2.Metrics', {
    pids: st.pids ? { current: st.pids.current ?? 0, limit: st.pids.limit ?? 0 } : undefined,
    cpu: {
      usage_usec: Math.floor((cpu.usage?.total ?? 0) / 1000),
      user_usec: Math.floor((cpu.usage?.user ?? 0) / 1000),
      system_usec: Math.floor((cpu.usage?.kernel ?? 0) / 1000),
      nr_periods: cpu.throttling?.periods ?? 0,
      nr_throttled: cpu.throttling?.throttledPeriods ?? 0,
      throttled_usec: Math.floor((cpu.throttling?.throttledTime ?? 0) / 1000),
    },
    memory: {
      ...fromRaw('io.containerd.cgroups.v2.MemoryStat', mem.raw),
      usage: mem.usage?.usage ?? 0,
      usage_limit: mem.usage?.limit ?? 0,
      swap_usage: mem.swap?.usage ?? 0,
      swap_limit: mem.swap?.limit ?? 0,
    },
  });
}

/** v2 when the container's only cgroup is the unified one (its path under the "" key). */
export function containerMetrics(stats: CgroupStats, cgroupPaths: Record<string, string>): AnyMessage {
  const keys = Object.keys(cgroupPaths);
  return keys.length === 1 && keys[0] === '' ? v2Metrics(stats) : v1Metrics(stats);
}
