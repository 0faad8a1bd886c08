// A fresh runt state root per test (/run/runt-test-<pid>-<n>). At teardown every container left in
// it is force-deleted with runt itself; whatever then remains (state, cgroups, processes) fails the
// test and is removed by hand so the machine stays clean.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Bundle } from './bundle.js';
import { onTeardownContainers } from './cleanup.js';
import { uniqueId } from './ids.js';
import { cgroupDirsNamed, leftovers } from './leftovers.js';
import { isGone, processesMentioning } from './proc.js';
import { waitFor } from './poll.js';
import { errorLines, runt, runtAsync, type RuntOptions, type RuntProcess, type RuntResult } from './runt.js';

let roots = 0;

export interface OciState {
  ociVersion: string;
  id: string;
  status: string;
  pid: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export interface StateRoot {
  path: string;
  /** A new container id, remembered for the teardown's leak check. */
  id(prefix?: string): string;
  runt(args: string[], opts?: RuntOptions): RuntResult;
  runtAsync(args: string[], opts?: RuntOptions): RuntProcess;
  /** `runt run --bundle B [extra] ID` in the foreground. */
  run(bundle: Bundle, id?: string, extra?: string[], opts?: RuntOptions): RuntResult & { id: string };
  /** `runt create --bundle B ID`, output to files in the bundle (create's output would hold a pipe open). */
  create(bundle: Bundle, id?: string, extra?: string[]): RuntResult & { id: string };
  /** Parsed `runt state ID`, or undefined when it fails. */
  state(id: string): OciState | undefined;
  /** Waits (watching /proc, not polling runt) until the init has exited; returns `runt state` then. */
  waitStopped(id: string, timeoutMs?: number): Promise<OciState | undefined>;
  /** Names in the state root. */
  entries(): string[];
}

export function stateRoot(t: Test): StateRoot {
  roots += 1;
  const path = `/run/runt-test-${process.pid}-${roots}`;
  mkdirSync(path, { recursive: true, mode: 0o711 });
  const ids = new Set<string>();
  const bundles = new Map<string, string>();

  const root: StateRoot = {
    path,
    id: (prefix) => {
      const id = uniqueId(prefix);
      ids.add(id);
      return id;
    },
    runt: (args, opts) => runt(args, { root: path, ...opts }),
    runtAsync: (args, opts) => runtAsync(args, { root: path, ...opts }),
    run: (bundle, id = root.id('run'), extra = [], opts) => {
      ids.add(id);
      bundles.set(id, bundle.dir);
      return { id, ...root.runt(['run', '--bundle', bundle.dir, ...extra, id], opts) };
    },
    create: (bundle, id = root.id('create'), extra = []) => {
      ids.add(id);
      bundles.set(id, bundle.dir);
      return {
        id,
        ...root.runt(['create', '--bundle', bundle.dir, ...extra, id], {
          stdoutFile: join(bundle.dir, `${id}.stdout`),
          stderrFile: join(bundle.dir, `${id}.stderr`),
        }),
      };
    },
    state: (id) => {
      const r = root.runt(['state', id]);
      if (r.code !== 0) return undefined;
      try {
        return JSON.parse(r.stdout) as OciState;
      } catch {
        return undefined;
      }
    },
    waitStopped: async (id, timeoutMs = 10_000) => {
      const pid = root.state(id)?.pid ?? 0;
      if (pid > 0) await waitFor(`${id} to stop`, () => isGone(pid), timeoutMs);
      return root.state(id);
    },
    entries: () => (existsSync(path) ? readdirSync(path) : []),
  };

  onTeardownContainers(t, async () => {
    const problems: string[] = [];
    for (const name of root.entries()) {
      ids.add(name);
      const r = root.runt(['delete', '--force', name]);
      if (r.code !== 0) problems.push(`delete --force ${name} failed: ${errorLines(r).join(' | ')}`);
    }
    for (const id of ids) {
      const left = leftovers(path, id, bundles.get(id));
      if (left.length) problems.push(`${id}: ${left.join(', ')}`);
      if (left.length) await removeByHand(id);
    }
    rmSync(path, { recursive: true, force: true });
    return problems;
  });
  return root;
}

/** Last resort after a failed cleanup: kill what still runs in the container's cgroups (our own
 *  container processes, by pid) and remove the directories once they are empty. */
async function removeByHand(id: string): Promise<void> {
  for (const pid of processesMentioning(id)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const dirs = cgroupDirsNamed(id).sort((a, b) => b.length - a.length);
  if (dirs.length === 0) return;
  for (const dir of dirs) {
    try {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    } catch {
      /* not readable */
    }
  }
  await waitFor(
    `cgroups of ${id} removed`,
    () => {
      for (const dir of dirs) {
        try {
          rmdirSync(dir);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return false;
        }
      }
      return true;
    },
    5000,
  ).catch(() => {
    /* reported already */
  });
}
