// How the systemd cgroup driver reads linux.cgroupsPath: "slice:prefix:name", as runc and crun do.
// The container gets the transient scope unit `<prefix>-<name>.scope` in `slice` (default
// system.slice), whose cgroup is the slice's path below the cgroup2 mount plus the unit's name.
import { CgroupError } from '../../errors.js';

export interface SystemdPath {
  slice: string;
  unit: string;
  /** The unit's cgroup below the cgroup2 mount root, e.g. /system.slice/runt-abc.scope. */
  cgroup: string;
}

const F = 'linux.cgroupsPath';
/** What systemd accepts in a unit name (unit_name_is_valid): no "/", no spaces, at most 255. */
const UNIT_CHARS = /^[A-Za-z0-9:_.\\@-]+$/;

/** The cgroup of a slice: each "-" opens a level, "a-b.slice" → /a.slice/a-b.slice. */
export function expandSlice(slice: string): string {
  if (!slice.endsWith('.slice') || !UNIT_CHARS.test(slice) || slice.includes('@')) {
    throw new CgroupError(`${F}: "${slice}" is not a slice name (like system.slice or machine-app.slice)`);
  }
  if (slice === '-.slice') return '/';
  const base = slice.slice(0, -'.slice'.length);
  if (base === '' || base.startsWith('-') || base.endsWith('-') || base.includes('--')) {
    throw new CgroupError(`${F}: "${slice}" is not a valid slice name`);
  }
  let path = '';
  let prefix = '';
  for (const part of base.split('-')) {
    prefix = prefix ? `${prefix}-${part}` : part;
    path += `/${prefix}.slice`;
  }
  return path;
}

/** `cgroupsPath` for the systemd driver; undefined gives `system.slice:runt:<id>`. */
export function parseSystemdPath(cgroupsPath: string | undefined, id: string): SystemdPath {
  const parts = (cgroupsPath ?? `:runt:${id}`).split(':');
  if (parts.length !== 3) {
    throw new CgroupError(`${F}: expected "slice:prefix:name" with the systemd cgroup driver, got ${JSON.stringify(cgroupsPath)}`);
  }
  const [sliceGiven, prefix, name] = parts;
  const slice = sliceGiven || 'system.slice';
  if (!name) throw new CgroupError(`${F}: the name in "slice:prefix:name" is empty`);
  if (name.endsWith('.slice')) throw new CgroupError(`${F}: a container in its own slice ("${name}") is not supported: give a scope name`);
  const unit = prefix ? `${prefix}-${name}.scope` : `${name}.scope`;
  if (!UNIT_CHARS.test(unit) || unit.length > 255) throw new CgroupError(`${F}: "${unit}" is not a valid systemd unit name`);
  const parent = expandSlice(slice);
  return { slice, unit, cgroup: `${parent === '/' ? '' : parent}/${unit}` };
}
