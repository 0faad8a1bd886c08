// runt's store: what outlives a container (volumes, networks, IPAM leases; images keep theirs here
// too). One default and one flag (`--store`, the library's `store` option) for every part of runt
// that keeps data there, so they always agree on where it is.
import { resolve } from 'node:path';

export const DEFAULT_STORE = '/var/lib/runt';

/** The store directory: the given one (--store), else RUNT_STORE, else /var/lib/runt. */
export function storeRoot(given?: string): string {
  return resolve(given || process.env.RUNT_STORE || DEFAULT_STORE);
}
