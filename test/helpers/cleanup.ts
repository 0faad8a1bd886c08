// One teardown per test that undoes everything the helpers made, in a fixed order: containers first
// (they may still use a bundle), then the registered actions, then files and directories.
// Registering separate t.teardown callbacks would run them last-in first-out instead.
import { rmSync } from 'node:fs';
import type { Test } from 'tap';

interface Cleanup {
  containers: Array<() => Promise<string[]> | string[]>;
  actions: Array<() => void>;
  paths: string[];
}

const registry = new WeakMap<Test, Cleanup>();

function cleanupOf(t: Test): Cleanup {
  const c = registry.get(t);
  if (c) return c;
  const created: Cleanup = { containers: [], actions: [], paths: [] };
  registry.set(t, created);
  t.teardown(async () => {
    const problems: string[] = [];
    for (const fn of created.containers) problems.push(...(await fn()));
    for (const fn of created.actions) {
      try {
        fn();
      } catch (e) {
        problems.push(`cleanup action failed: ${(e as Error).message}`);
      }
    }
    for (const p of created.paths) rmSync(p, { recursive: true, force: true });
    if (problems.length) throw new Error(`left behind after the test: ${problems.join('; ')}`);
  });
  return created;
}

/** Run at teardown before anything else; returns descriptions of what was left behind. */
export function onTeardownContainers(t: Test, fn: () => Promise<string[]> | string[]): void {
  cleanupOf(t).containers.push(fn);
}

/** Run at teardown after the containers are gone (e.g. kill a helper process by its pid). */
export function onTeardown(t: Test, fn: () => void): void {
  cleanupOf(t).actions.push(fn);
}

/** Remove this path (recursively) at teardown. */
export function removeAtTeardown(t: Test, path: string): void {
  cleanupOf(t).paths.push(path);
}
