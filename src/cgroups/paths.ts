// The saved path map (CgroupManager.paths, kept in the state file): hierarchy name → the
// container's directory. Only src/cgroups reads its keys: "" is the one directory of a pure v2
// host, "unified" the cgroup2 directory of a hybrid host, SYSTEMD_UNIT_KEY the name of the systemd
// scope unit (not a directory), any other key a v1 hierarchy ("memory", "cpu,cpuacct", "systemd").
import { SYSTEMD_UNIT_KEY } from './systemd/key.js';

export type CgroupPaths = Record<string, string>;

const V2_KEY = '';
const UNIFIED_KEY = 'unified';
const NOT_V1 = new Set([V2_KEY, UNIFIED_KEY, SYSTEMD_UNIT_KEY]);

export function pathsOfV2(dir: string): CgroupPaths {
  return { [V2_KEY]: dir };
}

/** The directory of a pure v2 host, or undefined for v1 and hybrid ones. */
export function v2Dir(paths: CgroupPaths): string | undefined {
  return paths[V2_KEY];
}

/** The cgroup2 directory: the only one on v2, the `unified` one on a hybrid host. */
export function cgroup2Dir(paths: CgroupPaths): string | undefined {
  return paths[V2_KEY] ?? paths[UNIFIED_KEY];
}

/** The directory of the v1 hierarchy that holds `subsystem` ("memory", "freezer"). */
export function v1Dir(paths: CgroupPaths, subsystem: string): string | undefined {
  if (!NOT_V1.has(subsystem) && paths[subsystem] !== undefined) return paths[subsystem];
  const key = Object.keys(paths).find((k) => !NOT_V1.has(k) && k.split(',').includes(subsystem));
  return key === undefined ? undefined : paths[key];
}

/** The v1 hierarchies' directories (without the cgroup2 one of a hybrid host), by name. */
export function v1Dirs(paths: CgroupPaths): Array<[name: string, dir: string]> {
  return Object.entries(paths).filter(([k]) => !NOT_V1.has(k));
}

export const isUnifiedKey = (name: string) => name === UNIFIED_KEY;

/** How a hierarchy is called when shown to a person ("v2" for the one of a pure v2 host). */
export function hierarchyLabel(name: string): string {
  return name === V2_KEY ? 'v2' : name;
}
