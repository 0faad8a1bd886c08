// The library's `rt.volumes`: named volumes in runt's store.
import { VolumeStore, type VolumeInfo } from './store.js';

export interface VolumeDetails extends VolumeInfo {
  /** Containers that have it mounted now (ids). */
  containers: string[];
}

export class Volumes {
  private readonly store: VolumeStore;

  constructor(storeDir: string) {
    this.store = new VolumeStore(storeDir);
  }

  create(name: string, opts: { labels?: Record<string, string> } = {}): VolumeDetails {
    this.store.create(name, { labels: opts.labels });
    return this.inspect(name);
  }

  inspect(name: string): VolumeDetails {
    const info = this.store.inspect(name);
    return { ...info, containers: this.store.users(name).map((u) => u.id) };
  }

  list(): VolumeDetails[] {
    return this.store.list().map((v) => ({ ...v, containers: this.store.users(v.name).map((u) => u.id) }));
  }

  /** Refused while a container uses it. */
  remove(name: string): void {
    this.store.remove(name);
  }

  /** Remove every volume no container uses; returns their names. */
  prune(): string[] {
    return this.store.prune();
  }
}

export { VolumeNotFoundError } from './store.js';
export type { VolumeInfo } from './store.js';
export type { VolumeMount, TmpfsMount } from './parse.js';
