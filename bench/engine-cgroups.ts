// Cgroup directories that a peer engine makes for itself and never removes: containerd's namespace
// (`default`, `k8s.io`, the cgroupsPath parent of its containers), podman's `libpod_parent` (conmon's
// cgroup), the validation suite's cgroupsPaths (`/cgrouptest`, `testdir/…`). A bench or a test
// records which of them exist before it starts its engine, and afterwards removes the new ones as
// far as they are empty, deepest first: a directory that existed before (with all below it), or that
// still has a process in it, is never touched. (The tests' teardown wrapper and the command for
// scripts: test/helpers/engine-cgroups.ts.)
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout, ownV1Path, parseProcCgroup } from '../src/cgroups/layout.js';

/** The places that did not exist before the engine ran: JSON, so that a script can keep it in a file. */
export interface CgroupRecord {
  absent: string[];
}

/** Where a cgroup named `name` appears when an engine asks for it: at the top of every hierarchy
 *  (an absolute cgroupsPath), and below this process's own cgroup there (a relative one is taken
 *  from the caller's cgroup, which on this host differs from the root in the memory hierarchy). */
function placesOf(names: string[]): string[] {
  const layout = detectLayout();
  const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  const hierarchies = layout.v1.map((h) => ({ mountpoint: h.mountpoint, own: ownV1Path(own, h) }));
  if (layout.unified) hierarchies.push({ mountpoint: layout.unified.mountpoint, own: own.get('') });
  const places = new Set<string>();
  for (const h of hierarchies) {
    for (const name of names) {
      places.add(join(h.mountpoint, name));
      if (h.own && h.own !== '/') places.add(join(h.mountpoint, h.own, name));
    }
  }
  return [...places];
}

/** `dir` and every directory below it, parents before children (nothing when `dir` is missing). */
function treeOf(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return [dir, ...entries.filter((e) => e.isDirectory()).flatMap((e) => treeOf(join(dir, e.name)))];
}

/** Notes which of the cgroup directories named `names` do not exist now. One that exists is left
 *  alone later, with everything below it: another engine (or an earlier run) owns it. */
export function recordCgroups(names: string[]): CgroupRecord {
  return { absent: placesOf(names).filter((d) => !existsSync(d)) };
}

/** Removes the recorded places that have appeared since, with the directories below them, deepest
 *  first, as far as they are empty. Returns the ones that stay (a process or a file still in them). */
export function removeNewCgroups(record: CgroupRecord): string[] {
  const made = record.absent.flatMap(treeOf).sort((a, b) => b.split('/').length - a.split('/').length);
  const stayed: string[] = [];
  for (const dir of made) {
    try {
      rmdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') stayed.push(dir);
    }
  }
  return stayed;
}

/** removeNewCgroups, tried again for a few seconds while a directory stays: processes killed a
 *  moment ago may still be leaving their cgroups. Returns the ones that stay after that. */
export async function removeNewCgroupsPatiently(record: CgroupRecord, rounds = 50): Promise<string[]> {
  let stayed = removeNewCgroups(record);
  for (let round = 0; stayed.length && round < rounds; round++) {
    await new Promise((r) => setTimeout(r, 100));
    stayed = removeNewCgroups(record);
  }
  return stayed;
}
