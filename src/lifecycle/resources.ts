// Operations on a running container's cgroup: pause, resume, update, ps, stats.
import type { Resources } from '../spec/types.js';
import { openCgroupManager, validateResources, withDefaultDeviceRules } from '../cgroups/index.js';
import type { CgroupManager, CgroupStats } from '../cgroups/manager.js';
import { InvalidStateError } from '../errors.js';
import type { SavedState } from '../state/store.js';
import type { RuntimeContext } from './context.js';
import { statusOf } from './status.js';

function withContainer<T>(ctx: RuntimeContext, id: string, fn: (saved: SavedState, status: string, cg: CgroupManager) => T): T {
  const lock = ctx.store.lock(id);
  try {
    const saved = ctx.store.read(id);
    const status = statusOf(ctx.store, saved);
    if (!saved) throw new InvalidStateError(`container "${id}" is still being created`);
    return fn(saved, status, openCgroupManager(saved.cgroupPaths));
  } finally {
    lock.release();
  }
}

export function pauseContainer(ctx: RuntimeContext, id: string): void {
  withContainer(ctx, id, (_saved, status, cg) => {
    if (status !== 'running' && status !== 'created') throw new InvalidStateError(`cannot pause container "${id}": it is ${status}`);
    cg.freeze();
  });
}

export function resumeContainer(ctx: RuntimeContext, id: string): void {
  withContainer(ctx, id, (_saved, status, cg) => {
    // statusOf checks the freezer before the exec fifo: a container paused before it was started
    // reports `paused` too (as with runc), so it can be resumed.
    if (status !== 'paused') throw new InvalidStateError(`cannot resume container "${id}": it is ${status}, not paused`);
    cg.thaw();
  });
}

/** Merge new limits into the container's resources, write them, and keep them in the saved spec. */
export function updateContainer(ctx: RuntimeContext, id: string, update: Resources): void {
  validateResources(update);
  withContainer(ctx, id, (saved, status, cg) => {
    if (status === 'stopped') throw new InvalidStateError(`cannot update container "${id}": it is stopped`);
    const linux = (saved.spec.linux ??= {});
    const merged = mergeResources(linux.resources ?? {}, update);
    validateResources(merged);
    cg.apply(update.devices ? withDefaultDeviceRules(merged, linux.devices) : { ...update, devices: undefined }, (m) => ctx.log.warn(m));
    linux.resources = merged;
    ctx.store.write(saved);
  });
}

function mergeResources(base: Resources, update: Resources): Resources {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(update)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && prev && typeof prev === 'object' && !Array.isArray(prev) ? { ...prev, ...v } : v;
  }
  return out as Resources;
}

export function containerPids(ctx: RuntimeContext, id: string): number[] {
  return withContainer(ctx, id, (_saved, status, cg) => (status === 'stopped' ? [] : cg.pids()));
}

export function containerStats(ctx: RuntimeContext, id: string): CgroupStats {
  return withContainer(ctx, id, (_saved, status, cg) => {
    if (status === 'stopped') throw new InvalidStateError(`container "${id}" is stopped`);
    return cg.stats();
  });
}
