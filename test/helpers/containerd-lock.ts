// One test file at a time drives a containerd or runt's shim (bench/containerd-lock.ts says why).
// Taken before the file records what exists under /run/containerd and released by the last
// teardown, after its removals.
import type { Test } from 'tap';
import { closeSync } from 'node:fs';
import { takeContainerdLock } from '../../bench/containerd-lock.js';

/** Waits for the lock; `t`'s teardown, registered now and so run after every later one, releases it. */
export async function holdContainerdLock(t: Test): Promise<void> {
  const fd = await takeContainerdLock();
  if (fd !== undefined) t.teardown(() => closeSync(fd));
}
