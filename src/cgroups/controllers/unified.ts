// linux.resources.unified: cgroup v2 files written as given. Last, so explicit values win over
// the converted ones; on a hybrid host they go to the cgroup2 mount when it has the file.
import { CgroupError } from '../../errors.js';
import { type CgroupController, F } from './controller.js';

export const unified: CgroupController = {
  resource: 'unified',
  v1(r, c) {
    for (const [key, value] of Object.entries(r.unified ?? {})) {
      const field = `${F}.unified["${key}"]`;
      const dir = c.unifiedDir(field);
      if (!c.has(dir, key)) {
        throw new CgroupError(`${field}: the cgroup2 mount of this hybrid host has no ${key} (its controller is not available there)`);
      }
      c.write(dir, key, value, field);
    }
  },
  v2(r, c) {
    for (const [key, value] of Object.entries(r.unified ?? {})) {
      const field = `${F}.unified["${key}"]`;
      c.writeV2(c.unifiedDir(field), key, value, field);
    }
  },
};
