// What a container may leave behind on the host: its state directory, cgroup directories, mounts in
// the host's mount namespace, processes.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { mountinfo, processesMentioning } from './proc.js';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** Cgroup directories (any hierarchy, down to `depth` levels) whose name contains `name`. */
export function cgroupDirsNamed(name: string, depth = 4): string[] {
  const found: string[] = [];
  const walk = (dir: string, level: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const path = join(dir, e.name);
      if (e.name.includes(name)) found.push(path);
      if (level < depth) walk(path, level + 1);
    }
  };
  walk(CGROUP_ROOT, 1);
  return found;
}

/** Mounts in this process's mount namespace whose mount point or source contains `text`. */
export function hostMountsNaming(text: string): string[] {
  return mountinfo('self')
    .filter((m) => m.mountPoint.includes(text) || m.source.includes(text))
    .map((m) => `${m.fstype} on ${m.mountPoint}`);
}

/** Everything the container `id` left behind, as readable strings (empty: nothing). */
export function leftovers(root: string, id: string, bundleDir?: string): string[] {
  const found: string[] = [];
  if (existsSync(join(root, id))) found.push(`state directory ${join(root, id)}`);
  for (const d of cgroupDirsNamed(id)) found.push(`cgroup ${d}`);
  if (bundleDir) for (const m of hostMountsNaming(bundleDir)) found.push(`host mount ${m}`);
  for (const pid of processesMentioning(id)) found.push(`process ${pid}`);
  return found;
}
