// Where a shim listens, from what containerd gives (where runt keeps the containers' state:
// state-root.ts, apart, so that `delete` does not load node:crypto).
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/** Annotations that put containers into one shim: a Kubernetes pod, or a group named by hand (runt's
 *  label, or the one containerd's runc shim reads). */
export const GROUP_ANNOTATIONS = ['io.kubernetes.cri.sandbox-id', 'io.containerd.runt.v2.group', 'io.containerd.runc.v2.group'];

/** The shim of a group: one socket per containerd, namespace and group, under /run/containerd/s
 *  as containerd's own shims (the name hashes runt's into its own space). */
export function socketAddress(containerdAddress: string, namespace: string, group: string): string {
  const hash = createHash('sha256')
    .update(`runt\0${join(containerdAddress, namespace, group)}`)
    .digest('hex');
  return `unix:///run/containerd/s/${hash}`;
}

export function socketPath(address: string): string {
  return address.replace(/^unix:\/\//, '');
}
