// Small synchronous helpers for reading and writing cgroupfs files and directories.
import { closeSync, constants, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CgroupError } from '../errors.js';

const sleeper = new Int32Array(new SharedArrayBuffer(4));

export function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException)?.code ?? String(e);
}

export function isErrno(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException)?.code === code;
}

/** A CgroupError that remembers the errno name of the failed system call. */
function cgroupError(message: string, cause: unknown): CgroupError {
  return Object.assign(new CgroupError(message), { errnoCode: errCode(cause) });
}

/** Whether a CgroupError came from a system call failing with `code` ("EINVAL"). */
export function isCgroupErrno(e: unknown, code: string): boolean {
  return e instanceof CgroupError && (e as CgroupError & { errnoCode?: string }).errnoCode === code;
}

export function readCgroupFile(dir: string, file: string): string {
  const path = join(dir, file);
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new CgroupError(`${path}: ${errCode(e)}`);
  }
}

export function tryReadCgroupFile(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Write one value in a single write(2), as cgroupfs expects; the file must exist (no O_CREAT). */
export function writeCgroupFile(dir: string, file: string, value: string, field?: string): void {
  writeCgroupLines(dir, file, [value], field);
}

/** Write several values to one file, each in its own write(2) (cgroupfs takes one rule per write),
 *  through one open file: device rules are a dozen lines. */
export function writeCgroupLines(dir: string, file: string, values: string[], field?: string): void {
  if (values.length === 0) return;
  const path = join(dir, file);
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
  } catch (e) {
    throw cgroupError(`${field ? `${field}: ` : ''}${path}: ${errCode(e)}`, e);
  }
  try {
    for (const value of values) {
      try {
        writeSync(fd, value);
      } catch (e) {
        throw cgroupError(`${field ? `${field}: ` : ''}writing "${value}" to ${path}: ${errCode(e)}`, e);
      }
    }
  } finally {
    closeSync(fd);
  }
}

/** Pids listed in cgroup.procs of dir and every cgroup below it. */
export function pidsBelow(dir: string, into = new Set<number>()): Set<number> {
  const procs = tryReadCgroupFile(dir, 'cgroup.procs');
  if (procs === undefined) return into;
  for (const l of procs.split('\n')) if (l) into.add(Number(l));
  for (const e of readdirSafe(dir)) if (e.isDirectory()) pidsBelow(join(dir, e.name), into);
  return into;
}

function readdirSafe(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

export function holdsProcesses(dir: string): boolean {
  const procs = tryReadCgroupFile(dir, 'cgroup.procs');
  return procs !== undefined && procs.length > 0;
}

/** mkdir `dir` and every missing level above it below `top` (exclusive, must exist); returns the
 *  directories it made, top-most first (`dir` is not among them when it existed already).
 *  `onCreate` runs right after each one is made. No stat first: mkdir's EEXIST and ENOENT answer. */
export function mkdirLevels(top: string, dir: string, onCreate?: (d: string) => void): string[] {
  const made: string[] = [];
  const under = top.endsWith('/') ? top : `${top}/`;
  const make = (d: string): void => {
    // A concurrent delete may remove an empty shared parent (e.g. /runt) between two levels: retry.
    for (let attempt = 0; ; attempt++) {
      try {
        mkdirSync(d);
      } catch (e) {
        if (isErrno(e, 'EEXIST')) return;
        const parent = dirname(d);
        if (isErrno(e, 'ENOENT') && attempt < 3 && parent.startsWith(under)) {
          make(parent);
          continue;
        }
        throw new CgroupError(`creating cgroup ${d}: ${errCode(e)}`);
      }
      made.push(d);
      onCreate?.(d);
      return;
    }
  };
  make(dir);
  return made;
}

/** Child cgroups of dir (none when it cannot be read). */
function subCgroups(dir: string): string[] {
  return readdirSafe(dir)
    .filter((e) => e.isDirectory())
    .map((e) => join(dir, e.name));
}

/** rmdir a cgroup and any cgroups below it, children first. The kernel refuses (EBUSY) while exiting
 *  tasks are still listed, so retry a few times with growing sleeps. The rmdir comes first: an
 *  empty leaf, the usual case, needs no directory read. */
export function removeCgroup(dir: string): void {
  let delay = 2;
  for (let attempt = 0; ; attempt++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return;
      if (!isErrno(e, 'EBUSY') || attempt >= 8) throw new CgroupError(`removing cgroup ${dir}: ${errCode(e)}`);
    }
    const children = subCgroups(dir);
    if (children.length) {
      for (const c of children) removeCgroup(c);
      continue;
    }
    sleepMs(delay);
    delay = Math.min(delay * 2, 100);
  }
}

/** rmdir a cgroup once: true when it is gone, false when the kernel says it is in use (EBUSY:
 *  processes, or cgroups below it). */
export function removeCgroupIfEmpty(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return true;
    if (isErrno(e, 'EBUSY')) return false;
    throw new CgroupError(`removing cgroup ${dir}: ${errCode(e)}`);
  }
}
