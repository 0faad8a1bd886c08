// Where runt keeps the state of a containerd namespace's containers.
import { join } from 'node:path';

/** runt's state root for one containerd namespace (as runc's shim uses /run/containerd/runc/<ns>). */
export function stateRoot(namespace: string): string {
  return join('/run/containerd/runt', namespace);
}
