// The rootfs mounts containerd's snapshotter hands to Create (overlay, or a bind mount of a
// directory), mounted on <bundle>/rootfs with mount(2) through the addon, and taken off again on
// Delete and by the `delete` command after a crash.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';
import { MS } from '../plan/constants.js';
import { parseMountOptions } from '../plan/mount-options.js';
import { CODE, StatusError } from './ttrpc-status.js';

export interface RootfsMount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

const MNT_DETACH = 2;
/** The flags a bind mount takes only on a remount (mount(2) ignores them with MS_BIND alone). */
const BIND_REMOUNT_FLAGS = MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC;

export function mountRootfs(bundle: string, mounts: RootfsMount[]): string {
  const target = join(bundle, 'rootfs');
  mkdirSync(target, { recursive: true, mode: 0o711 });
  const done: number[] = [];
  try {
    mounts.forEach((m, i) => {
      const { flags, data, propagation } = parseMountOptions(m.options);
      const where = `rootfs[${i}] (${m.type} ${m.source})`;
      try {
        native().mount(m.source, target, m.type === 'bind' ? '' : m.type, flags & ~MS.REMOUNT, data);
        done.push(i);
        if (flags & MS.BIND && flags & BIND_REMOUNT_FLAGS)
          native().mount('', target, '', (flags & BIND_REMOUNT_FLAGS) | MS.BIND | MS.REMOUNT, '');
        for (const p of propagation) native().mount('', target, '', p, '');
      } catch (e) {
        throw new StatusError(CODE.INVALID_ARGUMENT, `${where} on ${target}: ${(e as Error).message}`);
      }
    });
  } catch (e) {
    for (let n = done.length; n > 0; n--) unmountOnce(target);
    throw e;
  }
  return target;
}

function unmountOnce(target: string): boolean {
  try {
    native().umount2(target, 0);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EINVAL' || code === 'ENOENT') return false; // not a mount point (any more)
    if (code === 'EBUSY') {
      native().umount2(target, MNT_DETACH);
      return true;
    }
    throw e;
  }
}

/** Everything mounted on <bundle>/rootfs, top first (as containerd's UnmountAll). */
export function unmountRootfs(bundle: string): void {
  const target = join(bundle, 'rootfs');
  for (let i = 0; i < 64 && unmountOnce(target); i++);
}
