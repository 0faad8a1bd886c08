// `delete`: stop what is left (created containers always, running ones with --force), remove the
// cgroups and the state directory, then run poststop hooks.
import { native } from '../native.js';
import { detachRootfsBind } from './shared-mounts.js';
import { withPidfd } from './pidfd.js';
import { openCgroupManager } from '../cgroups/index.js';
import { ContainerNotFoundError, InvalidStateError } from '../errors.js';
import { runHooksWarn } from './hooks-on-demand.js';
import type { RuntimeContext } from './context.js';
import { signalCgroup } from './kill.js';
import { ociState, statusOf } from './status.js';
import { readProcStat } from '../state/process.js';
import { removeDefaultParents } from './parent-cgroups.js';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { storeRoot } from '../store-root.js';
import type { SavedState } from '../state/store.js';

/** CNI DEL for a container that joined networks (its networks.json, written before the first ADD,
 *  is there even after a crash of runt). Failures are warnings: delete goes on. */
async function detachNetworks(ctx: RuntimeContext, id: string, saved: SavedState, stopped: boolean): Promise<void> {
  const dir = ctx.store.dir(id);
  if (!existsSync(join(dir, 'networks.json'))) return;
  const net = await import('../network/attach.js');
  // The namespace is entered only if it is the one ADD ran in (netnsForDel compares inodes): the
  // init's, or, when create never recorded the init's pid, that of a process left in its cgroup.
  let pids: number[] = [];
  if (!stopped) {
    if (saved.pid > 0) pids = [saved.pid];
    else
      try {
        pids = openCgroupManager(saved.cgroupPaths).pids();
      } catch {
        /* no cgroup */
      }
  }
  const failures = await net.detachNetworks(saved.store ?? ctx.storeDir ?? storeRoot(), { root: resolve(ctx.store.root), id }, dir, pids);
  for (const f of failures) ctx.log.warn(`delete: ${f}`);
}
import { removeContainerDir } from '../image/container-dir.js';

export async function deleteContainer(ctx: RuntimeContext, id: string, force = false): Promise<void> {
  let lock;
  try {
    lock = await ctx.store.lockAsync(id);
  } catch (e) {
    if (force && e instanceof ContainerNotFoundError) return;
    throw e;
  }
  let removed = false;
  try {
    const saved = ctx.store.read(id);
    const status = statusOf(ctx.store, saved);
    if ((status === 'running' || status === 'paused') && !force) {
      throw new InvalidStateError(`cannot delete container "${id}" that is not stopped: ${status}`);
    }
    if (saved) {
      const stopped = status === 'stopped' && !saved.creating;
      // DEL before the kill: the namespace still exists, so the veth goes with the call.
      await detachNetworks(ctx, id, saved, stopped);
      if (!stopped) {
        signalCgroup(saved.cgroupPaths, 9);
        if (saved.pid > 0) {
          try {
            process.kill(saved.pid, 9);
          } catch {
            /* gone */
          }
        }
        await waitGone(saved.pid, saved.pidStartTime);
      }
      const cgroup = openCgroupManager(saved.cgroupPaths);
      // The init is gone: usually so is everything else, and one rmdir per hierarchy says so (the
      // kernel refuses with EBUSY while a process or a child cgroup is left). Only then are the
      // hierarchies scanned for processes to kill.
      if (!(stopped && cgroup.removeIfEmpty())) {
        await waitEmpty(cgroup);
        cgroup.destroy();
      }
      if (saved.rootfsMountId) {
        const failed = detachRootfsBind(saved.rootfs, saved.rootfsMountId);
        if (failed) ctx.log.warn(failed);
      }
      if (saved.spec.linux?.cgroupsPath === undefined) {
        if (ctx.parentCgroups) ctx.parentCgroups.released(saved.cgroupPaths);
        else removeDefaultParents(saved.cgroupPaths);
      }
    }
    if (saved?.volumes?.length) {
      const { releaseVolumes } = await import('../volume/attach.js');
      releaseVolumes(saved.store ?? ctx.storeDir ?? storeRoot(), { root: resolve(ctx.store.root), id }, saved.volumes);
    }
    ctx.store.remove(id);
    removed = true;
    // A container made from an image: its upper directory goes with it (its mounts went with its
    // mount namespace); the image's snapshots stay.
    removeContainerDir(saved?.spec);
    if (saved && !saved.creating) {
      await runHooksWarn(saved.spec.hooks, 'poststop', ociState(saved, 'stopped'), (m) => ctx.log.warn(m));
    }
  } finally {
    if (removed) lock.releaseRemoved();
    else lock.release();
  }
}

/** Resolves once the process has exited (a zombie counts as exited): pidfd polling, no sleeping loop. */
export async function waitGone(pid: number, startTime: number): Promise<void> {
  if (!(pid > 0)) return;
  await withPidfd(pid, async (fd) => {
    const st = readProcStat(pid);
    if (st && startTime && st.startTime !== startTime) return;
    await native().whenReadable(fd);
  });
}

const EMPTY_DEADLINE_MS = 5000;

/** Kill whatever is still in the cgroup and wait for each process to exit, on its pidfd: no sleeping
 *  loop. Rounds repeat only for processes that appeared meanwhile (a fork racing the kill). A process
 *  that will not die (stuck in the kernel) is left for destroy() to report after the deadline. */
async function waitEmpty(cgroup: { pids(): number[] }): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let deadline: Promise<'late'> | undefined;
  try {
    for (let round = 0; round < 100; round++) {
      let pids: number[];
      try {
        pids = cgroup.pids();
      } catch {
        return;
      }
      const live = pids.filter((p) => {
        const s = readProcStat(p);
        return s && s.state !== 'Z';
      });
      if (live.length === 0) return;
      deadline ??= new Promise((r) => {
        timer = setTimeout(() => r('late'), EMPTY_DEADLINE_MS);
      });
      if ((await Promise.race([Promise.all(live.map(killAndWait)), deadline])) === 'late') return;
    }
  } finally {
    clearTimeout(timer);
  }
}

async function killAndWait(pid: number): Promise<void> {
  await withPidfd(pid, async (fd) => {
    const n = native();
    try {
      n.pidfdSendSignal(fd, 9);
    } catch {
      /* already exiting */
    }
    await n.whenReadable(fd);
  });
}
