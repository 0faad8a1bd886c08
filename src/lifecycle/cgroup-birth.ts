// The init is born in its cgroups instead of being moved there: clone3 puts it in the cgroup2
// directory (CLONE_INTO_CGROUP), and it writes "0" into each cgroup v1 `tasks` file itself before
// anything else. Moving another process (a pid written to cgroup.procs, as runc does from the
// parent) takes the kernel's global cgroup_threadgroup_rwsem for writing, which waits for an RCU
// grace period: milliseconds on a quiet machine, tens on a busy one, and every create in every
// process queues on it. A thread moving itself, and a process born into a cgroup, skip that lock.
import { closeSync, constants as fsc, openSync } from 'node:fs';
import { join } from 'node:path';
import { SYSTEMD_UNIT_KEY } from '../cgroups/systemd/key.js';

export interface BirthCgroups {
  /** For clone3 CLONE_INTO_CGROUP: the cgroup2 directory (v2, or the unified one of a hybrid host). */
  cgroupFd?: number;
  /** cgroup v1 `tasks` files, opened for writing. */
  cgroupTaskFds: number[];
  close(): void;
}

/** Opens what the child needs to join `paths` (CgroupManager.paths) by itself; null when any of
 *  them cannot be opened (the runtime then moves it from outside, as before). */
export function openBirthCgroups(paths: Record<string, string>): BirthCgroups | null {
  const opened: number[] = [];
  const close = () => {
    for (const fd of opened.splice(0)) closeSync(fd);
  };
  try {
    let cgroupFd: number | undefined;
    const cgroupTaskFds: number[] = [];
    for (const [name, dir] of Object.entries(paths)) {
      if (name === SYSTEMD_UNIT_KEY) continue; // a unit name, not a directory
      if (name === '' || name === 'unified') {
        cgroupFd = openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
        opened.push(cgroupFd);
      } else {
        const fd = openSync(join(dir, 'tasks'), fsc.O_WRONLY);
        opened.push(fd);
        cgroupTaskFds.push(fd);
      }
    }
    return { cgroupFd, cgroupTaskFds, close };
  } catch {
    close();
    return null;
  }
}
