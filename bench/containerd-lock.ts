// One process at a time drives a containerd or runt's shim: shims keep sockets and state under
// /run/containerd (/run/containerd/s, runc/NS, runt/NS) whatever a private containerd's config says,
// so a test and a bench (or two tests) running at once would share, and remove, each other's
// directories. The lock is an flock on the containerd binary itself: nothing is created, and
// checkouts running side by side take turns too. test/helpers/containerd-lock.ts holds it for a
// test file; the containerd benches hold it for their run.
import { existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../src/native.js';

/** Waits for the lock and returns the fd that holds it (closing it releases the lock); undefined
 *  when containerd is not installed (no one else can be driving one). */
export async function takeContainerdLock(): Promise<number | undefined> {
  const containerd = (process.env.PATH ?? '/usr/bin')
    .split(':')
    .map((d) => join(d, 'containerd'))
    .find(existsSync);
  if (!containerd) return undefined;
  const fd = openSync(containerd, 'r');
  while (!native().flock(fd, false)) await new Promise((r) => setTimeout(r, 100));
  return fd;
}
