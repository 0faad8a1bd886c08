// Which cgroup filesystems the host has mounted, read from /proc/self/mountinfo.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { CgroupError } from '../errors.js';
import type { CgroupLayoutKind } from './manager.js';

export const DEFAULT_MOUNT_ROOT = '/sys/fs/cgroup';

/** The v1 controllers the kernel knows; any other mount option of a `cgroup` mount is not a subsystem. */
const V1_CONTROLLERS = new Set([
  'cpu',
  'cpuacct',
  'cpuset',
  'memory',
  'devices',
  'freezer',
  'net_cls',
  'net_prio',
  'blkio',
  'perf_event',
  'hugetlb',
  'pids',
  'rdma',
  'misc',
  'debug',
]);

export interface V1Hierarchy {
  /** Directory name under the mount root ("cpu", "cpu,cpuacct", "systemd"). */
  name: string;
  mountpoint: string;
  /** Controllers and the hierarchy name: ["cpu", "cpuacct"] or ["name=systemd"]. */
  subsystems: string[];
  /** The cgroup shown at the mountpoint (mountinfo's root field, "/" unless in a cgroup namespace). */
  root: string;
}

export interface UnifiedMount {
  mountpoint: string;
  root: string;
}

export interface CgroupLayout {
  kind: CgroupLayoutKind;
  mountRoot: string;
  v1: V1Hierarchy[];
  /** The cgroup2 mount: the whole tree on v2, the (mostly empty) `unified` mount on a hybrid host. */
  unified?: UnifiedMount;
}

export interface LayoutSource {
  /** Text of /proc/self/mountinfo (default: read it). */
  mountinfo?: string;
  /** Where the cgroup mounts live (default /sys/fs/cgroup). */
  mountRoot?: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

function hierarchyName(mountpoint: string, mountRoot: string): string {
  const rel = relative(mountRoot, mountpoint);
  return rel && !rel.startsWith('..') ? rel : basename(mountpoint);
}

/** Parse mountinfo text into the layout; the first mount of each hierarchy wins. */
export function parseMountinfo(text: string, mountRoot = DEFAULT_MOUNT_ROOT): CgroupLayout {
  const v1: V1Hierarchy[] = [];
  let unified: UnifiedMount | undefined;
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    if (pre.length < 5) continue;
    const root = unescapeMountinfo(pre[3]);
    const mountpoint = unescapeMountinfo(pre[4]);
    if (fstype === 'cgroup2') {
      unified ??= { mountpoint, root };
    } else if (fstype === 'cgroup') {
      const subsystems = superOpts.split(',').filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='));
      const key = [...subsystems].sort().join(',');
      if (subsystems.length === 0 || seen.has(key)) continue;
      seen.add(key);
      v1.push({ name: hierarchyName(mountpoint, mountRoot), mountpoint, subsystems, root });
    }
  }
  const kind: CgroupLayoutKind | undefined = v1.length ? (unified ? 'hybrid' : 'v1') : unified ? 'v2' : undefined;
  if (!kind) throw new CgroupError('no cgroup filesystem is mounted (looked for cgroup and cgroup2 in /proc/self/mountinfo)');
  return { kind, mountRoot, v1, unified };
}

/** Read a directory laid out like cgroupfs (tests): cgroup.controllers at the top means v2; otherwise
 *  each subdirectory is a v1 hierarchy named after its controllers, `unified` being the cgroup2 one. */
function layoutFromDirectory(mountRoot: string): CgroupLayout {
  if (existsSync(join(mountRoot, 'cgroup.controllers'))) {
    return { kind: 'v2', mountRoot, v1: [], unified: { mountpoint: mountRoot, root: '/' } };
  }
  const lines: string[] = [];
  for (const e of readdirSync(mountRoot, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const mp = join(mountRoot, e.name).replace(/ /g, '\\040');
    if (existsSync(join(mountRoot, e.name, 'cgroup.controllers'))) {
      lines.push(`1 1 0:1 / ${mp} rw - cgroup2 cgroup2 rw`);
    } else {
      const subs = e.name === 'systemd' ? 'name=systemd' : e.name;
      lines.push(`1 1 0:1 / ${mp} rw - cgroup cgroup rw,${subs}`);
    }
  }
  return parseMountinfo(lines.join('\n'), mountRoot);
}

export function detectLayout(src: LayoutSource = {}): CgroupLayout {
  const mountRoot = src.mountRoot ?? DEFAULT_MOUNT_ROOT;
  if (src.mountinfo !== undefined) return parseMountinfo(src.mountinfo, mountRoot);
  if (mountRoot !== DEFAULT_MOUNT_ROOT) return layoutFromDirectory(mountRoot);
  return hostLayout();
}

/** How long the host's layout is reused before mountinfo is read again. Cgroup hierarchies are
 *  mounted at boot and hardly ever change, but every create and delete asked (reading mountinfo
 *  and parsing it cost 0.3–0.8 ms on a busy machine): a process doing many of them reads it at most
 *  once a second, and parses it again only when the text changed. */
const LAYOUT_TTL_MS = 1000;
let hostCache: { layout: CgroupLayout; text: string; readAt: number } | undefined;

/** process.hrtime, not performance.now(): the global `performance` loads perf_hooks (a few ms of
 *  start-up for a CLI command). */
const monotonicMs = () => Number(process.hrtime.bigint() / 1000000n);

/** The host's layout (shared, frozen: callers must not change it). */
function hostLayout(): CgroupLayout {
  const t = monotonicMs();
  if (hostCache && t - hostCache.readAt < LAYOUT_TTL_MS) return hostCache.layout;
  const text = readFileSync('/proc/self/mountinfo', 'utf8');
  if (hostCache?.text === text) {
    hostCache.readAt = t;
  } else {
    const layout = parseMountinfo(text, DEFAULT_MOUNT_ROOT);
    hostCache = { layout: deepFreeze(layout), text, readAt: t };
  }
  return hostCache.layout;
}

function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (v && typeof v === 'object') deepFreeze(v as object);
  return Object.freeze(o);
}

/** Parse /proc/<pid>/cgroup: hierarchy key ("cpu,cpuacct", "name=systemd", "" for v2) → path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

/** The path of the process's cgroup in a v1 hierarchy (matched on any shared subsystem). */
export function ownV1Path(own: Map<string, string>, h: V1Hierarchy): string | undefined {
  for (const [key, path] of own) {
    const subs = key.split(',');
    if (key && h.subsystems.some((s) => subs.includes(s))) return path;
  }
  return undefined;
}
