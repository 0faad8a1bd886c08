// The library's `rt.networks`: CNI networks in runt's store, and containers joining them.
import type { RuntimeContext } from '../lifecycle/context.js';
import { storeRoot } from '../store-root.js';
import type { Conflist } from './conflist.js';
import type { ConnectOptions } from './connect.js';
import { NetworkStore, type NetworkCreateOptions } from './store.js';

export interface NetworkInfo {
  name: string;
  subnet: string;
  gateway: string;
  bridge: string;
  internal: boolean;
  created: string;
  /** The CNI configuration list (cniVersion 1.0.0) the plugins run with. */
  config: Conflist;
  /** Containers attached now (ids). */
  containers: string[];
}

export class Networks {
  private readonly store: NetworkStore;

  constructor(private readonly ctx: RuntimeContext) {
    this.store = new NetworkStore(ctx.storeDir ?? storeRoot());
  }

  create(name: string, opts: NetworkCreateOptions = {}): NetworkInfo {
    this.store.create(name, opts);
    return this.inspect(name);
  }

  inspect(name: string): NetworkInfo {
    return this.info(this.store.get(name));
  }

  list(): NetworkInfo[] {
    return this.store.list().map((l) => this.info(l));
  }

  remove(name: string): void {
    this.store.remove(name);
  }

  /** Join a created or running container to a network; resolves with its addresses there. */
  async connect(id: string, network: string, opts: ConnectOptions = {}): Promise<string[]> {
    return (await import('./connect.js')).connectNetwork(this.ctx, id, network, opts);
  }

  async disconnect(id: string, network: string): Promise<void> {
    return (await import('./connect.js')).disconnectNetwork(this.ctx, id, network);
  }

  private info(l: Conflist): NetworkInfo {
    const r = l.runt;
    return {
      name: l.name,
      subnet: r?.subnet ?? '',
      gateway: r?.gateway ?? '',
      bridge: r?.bridge ?? '',
      internal: r?.internal ?? false,
      created: r?.created ?? '',
      config: l,
      containers: this.store.users(l.name).map((u) => u.id),
    };
  }
}

export { DEFAULT_NETWORK, NetworkNotFoundError } from './store.js';
export type { NetworkCreateOptions } from './store.js';
export type { ConnectOptions } from './connect.js';
export type { PortMapping } from './ports.js';
