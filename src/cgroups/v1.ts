// The cgroup v1 driver: one directory per mounted hierarchy, plus the cgroup2 one on a hybrid host.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { CgroupError } from '../errors.js';
import {
  holdsProcesses,
  mkdirLevels,
  pidsBelow,
  readCgroupFile,
  removeCgroup,
  removeCgroupIfEmpty,
  sleepMs,
  writeCgroupFile,
} from './fs.js';
import type { CgroupLayoutKind, CgroupManager, CgroupMountSource, CgroupStats } from './manager.js';
import { type BirthCgroups, openBirthCgroups } from './birth.js';
import type { Resources } from '../spec/types.js';
import { applyCgroupWrites, fsWriter } from './apply.js';
import { planCgroupWrites } from './controllers/index.js';
import { warnToStderr, type Warn } from './warn.js';
import { v1Stats } from './stats.js';
import { v1Frozen } from './freezer.js';
import { type CgroupWritePlan, hostProbe } from './writes.js';

export interface V1Dir {
  /** Directory name under the mount root ("cpu", "systemd"). */
  name: string;
  subsystems: string[];
  mountpoint: string;
  /** The container's cgroup in this hierarchy. */
  dir: string;
}

export interface UnifiedDir {
  mountpoint: string;
  dir: string;
}

const FREEZE_TIMEOUT_MS = 2000;

export class V1Manager implements CgroupManager {
  readonly kind: CgroupLayoutKind;
  readonly paths: Record<string, string>;

  constructor(
    readonly hierarchies: V1Dir[],
    readonly unified?: UnifiedDir,
  ) {
    this.kind = unified ? 'hybrid' : 'v1';
    this.paths = Object.fromEntries(hierarchies.map((h) => [h.name, h.dir]));
    if (unified) this.paths.unified = unified.dir;
  }

  /** The container's directory in the hierarchy holding `subsystem`, if that hierarchy is mounted. */
  dirOf(subsystem: string): string | undefined {
    return this.hierarchies.find((h) => h.subsystems.includes(subsystem))?.dir;
  }

  private allDirs(): Array<{ top: string; dir: string; cpuset: boolean }> {
    const dirs = this.hierarchies.map((h) => ({ top: h.mountpoint, dir: h.dir, cpuset: h.subsystems.includes('cpuset') }));
    if (this.unified) dirs.push({ top: this.unified.mountpoint, dir: this.unified.dir, cpuset: false });
    return dirs;
  }

  create(): void {
    const created: string[] = [];
    try {
      for (const { top, dir, cpuset } of this.allDirs()) {
        const made = mkdirLevels(top, dir, cpuset ? inheritCpuset : undefined);
        created.push(...made);
        // Only a directory that was there already can hold processes.
        if (made[made.length - 1] !== dir && holdsProcesses(dir)) throw new CgroupError(`cgroup ${dir} already exists and holds processes`);
      }
    } catch (e) {
      for (const d of created.reverse()) {
        try {
          removeCgroup(d);
        } catch {
          /* best effort: the original error matters */
        }
      }
      throw e;
    }
  }

  planWrites(resources: Resources, probe = true): CgroupWritePlan {
    const target = { version: 'v1' as const, dirOf: (s: string) => this.dirOf(s), unified: this.unified?.dir };
    return planCgroupWrites(resources, target, probe ? hostProbe : undefined);
  }

  apply(resources: Resources, warn: Warn = warnToStderr): void {
    applyCgroupWrites(this.planWrites(resources), fsWriter(), warn);
  }

  join(pid: number): void {
    for (const { dir } of this.allDirs()) writeCgroupFile(dir, 'cgroup.procs', String(pid));
  }

  pids(): number[] {
    const all = new Set<number>();
    for (const { dir } of this.allDirs()) pidsBelow(dir, all);
    return [...all].sort((a, b) => a - b);
  }

  private freezerDir(): string {
    const dir = this.dirOf('freezer');
    if (!dir) throw new CgroupError('the freezer cgroup hierarchy is not mounted');
    return dir;
  }

  freeze(): void {
    const dir = this.freezerDir();
    const deadline = Date.now() + FREEZE_TIMEOUT_MS;
    // Writing FROZEN starts freezing; the state stays FREEZING until every task has stopped,
    // and rewriting FROZEN retries tasks that were busy the first time.
    for (;;) {
      writeCgroupFile(dir, 'freezer.state', 'FROZEN');
      if (readCgroupFile(dir, 'freezer.state') === 'FROZEN') return;
      if (Date.now() > deadline) {
        writeCgroupFile(dir, 'freezer.state', 'THAWED');
        throw new CgroupError(`cgroup ${dir} did not freeze within ${FREEZE_TIMEOUT_MS} ms`);
      }
      sleepMs(1);
    }
  }

  thaw(): void {
    writeCgroupFile(this.freezerDir(), 'freezer.state', 'THAWED');
  }

  isFrozen(): boolean {
    const dir = this.dirOf('freezer');
    return dir !== undefined && v1Frozen(dir);
  }

  /** SIGKILL to every process at once through the unified hierarchy's cgroup.kill (Linux 5.14+): on a
   *  hybrid host every process of the container is in its unified directory too. False without one.
   *  A task frozen by the v1 freezer cannot act on the SIGKILL until it is thawed (unlike cgroup2's
   *  freezer), so a frozen container is thawed after the kill: with SIGKILL pending, nothing runs. */
  killAll(): boolean {
    if (!this.unified || !existsSync(`${this.unified.dir}/cgroup.kill`)) return false;
    writeCgroupFile(this.unified.dir, 'cgroup.kill', '1');
    if (this.isFrozen()) this.thaw();
    return true;
  }

  stats(): CgroupStats {
    return v1Stats(this);
  }

  openBirth(opts: { newUserNamespace: boolean; dryRun?: boolean }): BirthCgroups | null {
    return openBirthCgroups(this.paths, opts);
  }

  mountSources(): CgroupMountSource[] {
    const out: CgroupMountSource[] = this.hierarchies.map((h) => ({
      name: h.name,
      fstype: 'cgroup',
      data: h.subsystems.every((s) => s.startsWith('name=')) ? ['none', ...h.subsystems].join(',') : h.subsystems.join(','),
      hostDir: h.dir,
    }));
    if (this.unified) out.push({ name: 'unified', fstype: 'cgroup2', data: '', hostDir: this.unified.dir });
    return out;
  }

  destroy(): void {
    let first: unknown;
    for (const { dir } of this.allDirs()) {
      try {
        removeCgroup(dir);
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }

  removeIfEmpty(): boolean {
    for (const { dir } of this.allDirs()) if (!removeCgroupIfEmpty(dir)) return false;
    return true;
  }
}

/** A new cpuset cgroup starts with empty cpus and mems (unless the parent has clone_children set),
 *  and no task can join it until they are set: copy them from the parent. Called only for a
 *  directory just made, so its own (empty, or already the parent's) values are not read. */
function inheritCpuset(dir: string): void {
  const parent = dirname(dir);
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    let value = readCgroupFile(parent, file);
    // A shared parent (e.g. /runt) another runtime just made may not be filled in yet: fill it first
    // (the same values it is about to get), or this cgroup would stay empty and refuse its tasks.
    if (value === '') {
      inheritCpuset(parent);
      value = readCgroupFile(parent, file);
    }
    writeCgroupFile(dir, file, value);
  }
}
