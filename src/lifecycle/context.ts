// What every lifecycle operation needs: where state lives and where messages go.
import type { Logger } from '../log.js';
import type { StateStore } from '../state/store.js';

export interface RuntimeContext {
  store: StateStore;
  log: Logger;
}
