// One test file at a time drives a containerd or runt's shim. Shims keep sockets and state under /run/containerd
// (/run/containerd/s, runc/NS, runt/NS) whatever the test's config says, so two files running at once
// share those directories, and a file that found one there (made a moment earlier by the other)
// would leave it at teardown while the other could not yet remove it. The lock is an flock on the
// containerd binary itself (nothing is created, and checkouts running side by side take turns too),
// taken before the file records what exists and released by the last teardown, after its removals.
import type { Test } from 'tap';
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../src/native.js';

/** Waits for the lock; `t`'s teardown, registered now and so run after every later one, releases it.
 *  Without containerd installed no other file drives one, and there is nothing to wait for. */
export async function holdContainerdLock(t: Test): Promise<void> {
  const containerd = (process.env.PATH ?? '/usr/bin')
    .split(':')
    .map((d) => join(d, 'containerd'))
    .find(existsSync);
  if (!containerd) return;
  const fd = openSync(containerd, 'r');
  t.teardown(() => closeSync(fd));
  while (!native().flock(fd, false)) await new Promise((r) => setTimeout(r, 100));
}
