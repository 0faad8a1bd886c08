// A container's status is derived, never stored: from the init's /proc entry, the exec fifo and the freezer.
import { existsSync } from 'node:fs';
import type { ContainerStatus, State } from '../spec/types.js';
import { isAlive } from '../state/process.js';
import type { SavedState, StateStore } from '../state/store.js';
import { isFrozenAt } from '../cgroups/freezer.js';

export function statusOf(store: StateStore, saved: SavedState | null): ContainerStatus {
  // A create whose process died (killed by a signal: nothing could clean up) will never finish:
  // what it left is stopped, as runc reports a container whose init is gone, and `delete` removes it.
  if (saved?.creating && saved.creator && !isAlive(saved.creator.pid, saved.creator.startTime)) return 'stopped';
  if (!saved || saved.pid === 0) return saved?.creating ? 'creating' : 'stopped';
  if (!isAlive(saved.pid, saved.pidStartTime)) return 'stopped';
  if (saved.creating) return 'creating';
  // Frozen first: runc reports a paused container as paused even before it was started.
  if (isFrozenAt(saved.cgroupPaths)) return 'paused';
  if (!saved.started && existsSync(store.fifoPath(saved.id))) return 'created';
  return 'running';
}

/** The OCI state document (runtime.md), with runc's extra `paused` status. */
export function ociState(saved: SavedState, status: ContainerStatus): State {
  const state: State = {
    ociVersion: saved.ociVersion,
    id: saved.id,
    status,
    pid: status === 'stopped' ? 0 : saved.pid,
    bundle: saved.bundle,
  };
  if (saved.annotations && Object.keys(saved.annotations).length) state.annotations = saved.annotations;
  if (saved.networks?.length && status !== 'stopped') state.networks = saved.networks;
  return state;
}
