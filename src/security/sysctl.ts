// Which `linux.sysctl` keys a container may set: only those its own namespaces isolate (as runc
// allows). Anything else would change the host, whatever the value.
import { statSync } from 'node:fs';
import type { NamespaceType, Spec } from '../spec/types.js';
import { NAMESPACES } from '../plan/constants.js';
import { PlanError } from '../errors.js';

/** The IPC namespace's sysctls (ipc/ipc_sysctl.c), besides fs.mqueue.* (ipc/mq_sysctl.c). */
const IPC_KEYS = new Set([
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.msg_next_id',
  'kernel.sem',
  'kernel.sem_next_id',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
  'kernel.shm_next_id',
]);
const UTS_KEYS = new Set(['kernel.hostname', 'kernel.domainname']);

/** A key in dotted form ("net/ipv4/ip_forward" → "net.ipv4.ip_forward"). */
export function sysctlKey(name: string): string {
  return name.replace(/\//g, '.');
}

/** The namespace that isolates `name`, or undefined for a host-wide key (vm.*, kernel.pid_max, ...). */
export function sysctlNamespace(name: string): NamespaceType | undefined {
  const key = sysctlKey(name);
  if (IPC_KEYS.has(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (UTS_KEYS.has(key)) return 'uts';
  // The kernel shows a network namespace other than the initial one only its per-namespace keys.
  if (key.startsWith('net.')) return 'network';
  return undefined;
}

/** The file under /proc/sys (runc's conversion: every dot becomes a slash, so ".." cannot occur). */
export function sysctlPath(name: string): string {
  return `/proc/sys/${name.replace(/\./g, '/')}`;
}

/**
 * A namespace joined by path may be the runtime's own (e.g. `/proc/1/ns/net`): validation cannot
 * tell, so this compares namespace inodes, as runc does for net.*. Throws for a sysctl that would
 * land in the runtime's namespace.
 */
export function checkSysctlNamespaces(spec: Spec): void {
  const namespaces = spec.linux?.namespaces ?? [];
  for (const name of Object.keys(spec.linux?.sysctl ?? {})) {
    const type = sysctlNamespace(name);
    const joined = namespaces.find((n) => n.type === type && n.path);
    if (!type || !joined?.path) continue;
    if (sameNamespace(joined.path, `/proc/self/ns/${NAMESPACES[type].proc}`)) {
      throw new PlanError(`linux.sysctl["${name}"]`, `sysctl "${name}" is not allowed in the host's ${type} namespace (${joined.path})`);
    }
  }
}

function sameNamespace(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false; // a path that cannot be opened fails later, when the namespace is joined
  }
}
