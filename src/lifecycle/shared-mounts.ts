// A container without a mount namespace of its own makes its mounts in the runtime's namespace (the
// rootfs bound onto itself, the config's mounts under it), as runc does. runc leaves them there;
// runt detaches them when the container is deleted, or when create fails: one umount2(MNT_DETACH)
// of the rootfs bind takes every mount under it along. Only the bind the init made is detached:
// it is recognised by its mount id, the top mount at the rootfs that was not there before create.
import { readFileSync, realpathSync } from 'node:fs';
import { native } from '../native.js';
import type { Spec } from '../spec/types.js';

const MNT_DETACH = 2;

export function sharesMountNamespace(spec: Spec): boolean {
  return !(spec.linux?.namespaces ?? []).some((n) => n.type === 'mount');
}

/** The id of the topmost mount at `path` in the runtime's mount namespace, or 0. */
export function topMountId(path: string): number {
  let real: string;
  let text: string;
  try {
    real = realpathSync(path);
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return 0;
  }
  let id = 0;
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4 && f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) === real) id = Number(f[0]);
  }
  return id;
}

/** Detaches the rootfs bind with mount id `id` (and the mounts under it) if it is still the top
 *  mount at `rootfs`. Returns an error message, or undefined. */
export function detachRootfsBind(rootfs: string, id: number): string | undefined {
  if (!id || topMountId(rootfs) !== id) return undefined;
  try {
    native().umount2(rootfs, MNT_DETACH);
  } catch (e) {
    return `detach the container's mounts at ${rootfs}: ${(e as Error).message}`;
  }
  return undefined;
}
