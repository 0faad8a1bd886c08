// Rootless: runt run by a user other than root. Such a user can make a user namespace and map its
// own uid and gid into it by writing /proc/PID/uid_map and gid_map itself (the gid map only after
// /proc/PID/setgroups is "deny", so setgroups(2) is refused in that namespace for good). Any other
// range must come from /etc/subuid and /etc/subgid through the setuid helpers newuidmap and
// newgidmap (Debian's uidmap package). Its state goes under $XDG_RUNTIME_DIR/runt.
//
// Root inside a user namespace that does not map the host's root (rootless podman runs its runtime
// that way) is unprivileged too: it cannot write /run or the host's cgroups. Like runc, runt then
// keeps its state under $XDG_RUNTIME_DIR/runt when that is set and makes no cgroups.
import { existsSync, readFileSync } from 'node:fs';

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export function isRootless(): boolean {
  return (process.geteuid?.() ?? 0) !== 0;
}

let inUserNs: boolean | undefined;

/** Running in a user namespace other than the initial one (whose uid_map is "0 0 4294967295"). */
export function inUserNamespace(): boolean {
  if (inUserNs === undefined) {
    try {
      const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).join(' ');
      inUserNs = map !== '0 0 4294967295';
    } catch {
      inUserNs = false;
    }
  }
  return inUserNs;
}

/** Without the host's root: a user other than root, or root of a user namespace (rootless podman). */
export function withoutHostRoot(): boolean {
  return isRootless() || inUserNamespace();
}

/** /run/runt for root; $XDG_RUNTIME_DIR/runt (else /run/user/UID/runt) for anyone else, and for
 *  root in a user namespace when XDG_RUNTIME_DIR is set. */
export function defaultStateRoot(): string {
  if (!isRootless()) {
    const xdg = process.env.XDG_RUNTIME_DIR;
    return inUserNamespace() && xdg ? `${xdg.replace(/\/+$/, '')}/runt` : '/run/runt';
  }
  const xdg = process.env.XDG_RUNTIME_DIR;
  return xdg ? `${xdg.replace(/\/+$/, '')}/runt` : `/run/user/${process.geteuid!()}/runt`;
}

export interface IdMapMethod {
  /** Write the map file directly (root, or only the caller's own id), or run the setuid helper. */
  uid: 'write' | 'newuidmap';
  gid: 'write' | 'newgidmap';
  /** The gid map is written by an unprivileged caller: /proc/PID/setgroups must be "deny" first,
   *  and the init (and every exec'd process) may not call setgroups. */
  setgroupsDenied: boolean;
}

const onlyOwn = (maps: IdMapping[] | undefined, id: number) =>
  !maps?.length || (maps.length === 1 && maps[0].hostID === id && maps[0].size === 1);

export function idMapMethod(
  linux: { uidMappings?: IdMapping[]; gidMappings?: IdMapping[] } | undefined,
  rootless = isRootless(),
): IdMapMethod {
  if (!rootless) return { uid: 'write', gid: 'write', setgroupsDenied: false };
  const uid = onlyOwn(linux?.uidMappings, process.geteuid!()) ? 'write' : 'newuidmap';
  const gid = onlyOwn(linux?.gidMappings, process.getegid!()) ? 'write' : 'newgidmap';
  return { uid, gid, setgroupsDenied: gid === 'write' && (linux?.gidMappings?.length ?? 0) > 0 };
}

/** Where the setuid helper is, or undefined. */
export function idMapHelper(name: 'newuidmap' | 'newgidmap'): string | undefined {
  return ['/usr/bin', '/bin', '/usr/sbin', '/sbin'].map((d) => `${d}/${name}`).find((p) => existsSync(p));
}
