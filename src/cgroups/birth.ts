// The init is born in its cgroups instead of being moved there: clone3 puts it in the cgroup2
// directory (CLONE_INTO_CGROUP), and it writes "0" into each cgroup v1 `tasks` file itself before
// anything else. Moving another process (a pid written to cgroup.procs, as runc does from the
// parent) takes the kernel's global cgroup_threadgroup_rwsem for writing, which waits for an RCU
// grace period: milliseconds on a quiet machine, tens on a busy one, and every create in every
// process queues on it. A thread moving itself, and a process born into a cgroup, skip that lock.
// This module is the one place that decides it (crun calls it "precreate").
import { closeSync, constants as fsc, openSync } from 'node:fs';
import { join } from 'node:path';
import { type CgroupPaths, cgroup2Dir, v1Dirs } from './paths.js';

/** The fds the child needs to join its cgroups by itself (plan.cgroupFd, plan.cgroupTaskFds). */
export interface CgroupBirthFds {
  /** For clone3 CLONE_INTO_CGROUP: the cgroup2 directory (v2, or the unified one of a hybrid host). */
  cgroupFd?: number;
  /** cgroup v1 `tasks` files, opened for writing. */
  cgroupTaskFds: number[];
}

export interface BirthCgroups extends CgroupBirthFds {
  close(): void;
}

/** Opens what the child needs to join `paths` by itself; null when the runtime must move it from
 *  outside instead: the init makes a new user namespace (runt-init starts there without the
 *  rights to write the host's cgroup files), or a directory or file cannot be opened. `dryRun`
 *  (explain): the same answer with -1 for each fd, nothing opened. */
export function openBirthCgroups(paths: CgroupPaths, opts: { newUserNamespace: boolean; dryRun?: boolean }): BirthCgroups | null {
  if (opts.newUserNamespace) return null;
  if (opts.dryRun) {
    return { cgroupFd: cgroup2Dir(paths) === undefined ? undefined : -1, cgroupTaskFds: v1Dirs(paths).map(() => -1), close() {} };
  }
  const opened: number[] = [];
  const close = () => {
    for (const fd of opened.splice(0)) closeSync(fd);
  };
  try {
    let cgroupFd: number | undefined;
    const cgroupTaskFds: number[] = [];
    const dir2 = cgroup2Dir(paths);
    if (dir2 !== undefined) {
      cgroupFd = openSync(dir2, fsc.O_RDONLY | fsc.O_DIRECTORY);
      opened.push(cgroupFd);
    }
    for (const [, dir] of v1Dirs(paths)) {
      const fd = openSync(join(dir, 'tasks'), fsc.O_WRONLY);
      opened.push(fd);
      cgroupTaskFds.push(fd);
    }
    return { cgroupFd, cgroupTaskFds, close };
  } catch {
    close();
    return null;
  }
}

/** What a birth in `paths` does, one line per cgroup (explain). */
export function describeBirth(paths: CgroupPaths): string[] {
  const out: string[] = [];
  const dir2 = cgroup2Dir(paths);
  if (dir2 !== undefined) out.push(`clone3 CLONE_INTO_CGROUP ${dir2}`);
  for (const [, d] of v1Dirs(paths)) out.push(`the init writes "0" to ${d}/tasks before step 0`);
  return out;
}
