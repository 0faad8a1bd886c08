// `exec --cgroup` (runc 1.2+): the process joins a sub-cgroup of the container's instead of its top
// cgroup. `PATH` applies to every hierarchy; `CONTROLLER[,CONTROLLER...]:PATH` (cgroup v1) to the
// hierarchies holding those controllers, and the flag may repeat. The sub-cgroup must exist.
import { existsSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { InvalidArgumentError } from '../errors.js';
import { SYSTEMD_UNIT_KEY } from './systemd/key.js';

/** The container's cgroup paths (hierarchy name → directory) with the sub-cgroups of `specs` in place. */
export function subCgroupPaths(paths: Record<string, string>, specs: string[]): Record<string, string> {
  const out = { ...paths };
  for (const spec of specs) {
    const colon = spec.indexOf(':');
    const controllers = colon >= 0 ? spec.slice(0, colon).split(',').filter(Boolean) : undefined;
    const sub = normalize(colon >= 0 ? spec.slice(colon + 1) : spec).replace(/^\/+/, '');
    if (!sub || sub === '.' || sub === '..' || sub.startsWith('../'))
      throw new InvalidArgumentError(`--cgroup ${spec}: the path must name a sub-cgroup of the container's`);
    let matched = false;
    for (const [name, dir] of Object.entries(paths)) {
      if (name === SYSTEMD_UNIT_KEY) continue; // a unit name, not a directory
      if (controllers && !controllers.some((c) => name.split(',').includes(c))) continue;
      matched = true;
      const target = join(dir, sub);
      if (!existsSync(target) || !statSync(target).isDirectory())
        throw new InvalidArgumentError(`--cgroup ${spec}: ${target} does not exist`);
      out[name] = target;
    }
    if (!matched) throw new InvalidArgumentError(`--cgroup ${spec}: the container has no cgroup for ${controllers!.join(',')}`);
  }
  return out;
}
