// What every lifecycle operation needs: where state lives and where messages go.
import type { Logger } from '../log.js';
import type { StateStore } from '../state/store.js';
import type { ParentCgroups } from './parent-cgroups.js';

export interface RuntimeContext {
  store: StateStore;
  log: Logger;
  /** Removes the shared `runt` parent cgroups once idle (absent: delete removes them at once). */
  parentCgroups?: ParentCgroups;
  /** Who makes cgroups: runt itself (default) or systemd (--systemd-cgroup). */
  cgroupDriver?: 'cgroupfs' | 'systemd';
  /** runt's store (volumes, networks): default src/store-root.ts. */
  storeDir?: string;
}
