// The one definition of frozen, for the status of a container and for the drivers: a freeze was
// asked for and not undone (v1 freezer.state FREEZING or FROZEN, v2 cgroup.freeze 1). Whether every
// task has stopped yet (FROZEN, cgroup.events "frozen 1") is what freeze() waits for.
import { tryReadCgroupFile } from './fs.js';
import { type CgroupPaths, v1Dir, v2Dir } from './paths.js';

export function v1Frozen(freezerDir: string): boolean {
  const state = tryReadCgroupFile(freezerDir, 'freezer.state');
  return state !== undefined && state !== 'THAWED';
}

export function v2Frozen(dir: string): boolean {
  return tryReadCgroupFile(dir, 'cgroup.freeze') === '1';
}

/** Read straight from the saved paths, no layout scan (statusOf runs on every command). A container
 *  whose cgroups have no freezer cannot be paused, so it is not. */
export function isFrozenAt(paths: CgroupPaths): boolean {
  const v2 = v2Dir(paths);
  if (v2 !== undefined) return v2Frozen(v2);
  const freezer = v1Dir(paths, 'freezer');
  return freezer !== undefined && v1Frozen(freezer);
}
