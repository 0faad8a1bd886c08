// Entry point of the cgroup layer: pick the driver for the host's layout and place the container's cgroup.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { CgroupError } from '../errors.js';
import { type CgroupLayout, detectLayout, type LayoutSource, ownV1Path, parseProcCgroup } from './layout.js';
import type { CgroupManager, CgroupManagerOptions } from './manager.js';
import { V1Manager, type V1Dir } from './v1.js';
import { V2Manager } from './v2.js';
import { SYSTEMD_UNIT_KEY, SystemdManager } from './systemd/manager.js';
import { parseSystemdPath } from './systemd/path.js';
import { DelegatedV2Manager, NoCgroupManager } from './none.js';
import { inUserNamespace, withoutHostRoot } from '../rootless.js';

export type { CgroupLayoutKind, CgroupManager, CgroupManagerOptions, CgroupMountSource, CgroupStats } from './manager.js';
export { type BirthCgroups, type CgroupBirthFds, describeBirth, openBirthCgroups } from './birth.js';
export { isFrozenAt } from './freezer.js';
export { oomKills, type OomWatch, watchOom } from './oom.js';
export { type CgroupPaths, hierarchyLabel } from './paths.js';
export { type CgroupLayout, detectLayout, parseMountinfo, type V1Hierarchy } from './layout.js';
export { validateResources } from './validate.js';
export { DEFAULT_ALLOWED_DEVICES, type DeviceState, effectiveDeviceState, withDefaultDeviceRules } from './devices.js';
export { DEVICE_FILTER_LICENSE, deviceFilterProgram } from './devices-bpf.js';
export { blkioWeightToIoWeight, cpuMax, cpuSharesToWeight, swapToV2 } from './convert.js';
export { statsJson } from './stats.js';
export type { DeviceFilterAttacher } from './apply.js';
export type { CgroupWrite, CgroupWritePlan } from './writes.js';

/** Where the container's cgroup sits below the mountpoint of a hierarchy whose mount shows
 *  `mountRootCgroup`, given the runtime's own cgroup there. Absolute paths are taken from the
 *  hierarchy root; relative ones from the runtime's own cgroup (as runc does). */
export function cgroupBelowMount(cgroupsPath: string, ownCgroup: string | undefined, mountRootCgroup: string): string {
  if (cgroupsPath.startsWith('/')) return posix.join('/', cgroupsPath);
  let base = ownCgroup ?? '/';
  // In a cgroup namespace or a bind of a sub-tree, the mount shows `mountRootCgroup`, not the root.
  if (mountRootCgroup !== '/') base = base.startsWith(mountRootCgroup) ? base.slice(mountRootCgroup.length) || '/' : '/';
  return posix.join('/', base, posix.join('/', cgroupsPath));
}

function checkCgroupsPath(p: string): void {
  if (p === '' || p.includes('\0')) throw new CgroupError(`linux.cgroupsPath: invalid path ${JSON.stringify(p)}`);
  if (posix.join('/', p) === '/') throw new CgroupError('linux.cgroupsPath: must not be the cgroup root');
}

export function createCgroupManager(opts: CgroupManagerOptions, asRoot = !withoutHostRoot()): CgroupManager {
  if (!asRoot) return rootlessCgroupManager(opts);
  if (opts.systemd) return createSystemdManager(opts);
  const cgroupsPath = opts.cgroupsPath ?? `/runt/${opts.id}`;
  checkCgroupsPath(cgroupsPath);
  const layout = detectLayout({ mountinfo: opts.mountinfo, mountRoot: opts.mountRoot });
  const own = cgroupsPath.startsWith('/')
    ? new Map<string, string>()
    : parseProcCgroup(opts.selfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8'));
  const place = (mountpoint: string, root: string, ownPath: string | undefined) =>
    join(mountpoint, cgroupBelowMount(cgroupsPath, ownPath, root));

  if (layout.kind === 'v2') {
    const u = layout.unified!;
    return new V2Manager(u.mountpoint, place(u.mountpoint, u.root, own.get('')), opts.attachDeviceFilter);
  }
  const dirs: V1Dir[] = layout.v1.map((h) => ({
    name: h.name,
    subsystems: h.subsystems,
    mountpoint: h.mountpoint,
    dir: place(h.mountpoint, h.root, ownV1Path(own, h)),
  }));
  const u = layout.unified;
  return new V1Manager(dirs, u && { mountpoint: u.mountpoint, dir: place(u.mountpoint, u.root, own.get('')) });
}

/** Rootless: the cgroup given in cgroupsPath when the caller may write where it goes (a cgroup v2
 *  subtree delegated to the user, such as systemd's user@UID.service), else none at all. */
function rootlessCgroupManager(opts: CgroupManagerOptions): CgroupManager {
  const uid = process.geteuid!();
  const who = uid === 0 && inUserNamespace() ? 'root of this user namespace' : `uid ${uid}`;
  if (opts.systemd) throw new CgroupError('--systemd-cgroup: the systemd user instance (rootless) is not supported; leave the flag off');
  const layout = detectLayout({ mountinfo: opts.mountinfo, mountRoot: opts.mountRoot });
  const none = new NoCgroupManager(
    layout.kind,
    `no cgroup is delegated to ${who} (rootless${layout.kind === 'v2' ? ': give a linux.cgroupsPath in a cgroup v2 subtree you own' : `, and this host's cgroups are ${layout.kind}`})`,
    opts.cgroupsPath,
  );
  if (layout.kind !== 'v2' || !opts.cgroupsPath) return none;
  const dir = createCgroupManager(opts, true).paths[''];
  let d = dir;
  while (!existsSync(d)) d = dirname(d);
  try {
    accessSync(d, constants.W_OK);
    return new DelegatedV2Manager(layout.unified!.mountpoint, dir);
  } catch {
    return none;
  }
}

/** The systemd driver: a transient scope named by a "slice:prefix:name" cgroupsPath (v2 hosts). */
function createSystemdManager(opts: CgroupManagerOptions): CgroupManager {
  const where = parseSystemdPath(opts.cgroupsPath, opts.id);
  const layout = detectLayout({ mountinfo: opts.mountinfo, mountRoot: opts.mountRoot });
  if (layout.kind !== 'v2') {
    throw new CgroupError(
      `--systemd-cgroup: this host's cgroups are ${layout.kind}; runt's systemd driver needs a cgroup v2 (unified) host`,
    );
  }
  const u = layout.unified!;
  return new SystemdManager({
    mountpoint: u.mountpoint,
    unit: where.unit,
    slice: where.slice,
    dir: join(u.mountpoint, where.cgroup),
    started: false,
    description: `runt container ${opts.id}`,
    annotations: opts.annotations,
    attachDeviceFilter: opts.attachDeviceFilter,
  });
}

/** Re-open the manager of an existing container from its saved `manager.paths` (the state file). */
export function openCgroupManager(paths: Record<string, string>, src: LayoutSource = {}): CgroupManager {
  const layout: CgroupLayout = detectLayout(src);
  if (Object.keys(paths).length === 0) return new NoCgroupManager(layout.kind, 'the container has no cgroup (rootless)');
  if (SYSTEMD_UNIT_KEY in paths) {
    const mp = layout.unified?.mountpoint;
    if (!mp || !paths[''].startsWith(mp)) throw new CgroupError(`cgroup ${paths['']} is not in the cgroup2 mount`);
    const unit = paths[SYSTEMD_UNIT_KEY];
    return new SystemdManager({ mountpoint: mp, unit, slice: '', dir: paths[''], started: true });
  }
  if ('' in paths) {
    const mp = layout.unified?.mountpoint;
    if (!mp || !paths[''].startsWith(mp)) throw new CgroupError(`cgroup ${paths['']} is not in the cgroup2 mount`);
    return new V2Manager(mp, paths['']);
  }
  const dirs: V1Dir[] = [];
  let unified: { mountpoint: string; dir: string } | undefined;
  for (const [name, dir] of Object.entries(paths)) {
    if (name === 'unified') {
      if (layout.unified) unified = { mountpoint: layout.unified.mountpoint, dir };
      continue;
    }
    const h = layout.v1.find((x) => x.name === name);
    // A hierarchy that is no longer mounted keeps its saved directory so destroy() can still try.
    dirs.push(
      h
        ? { name, subsystems: h.subsystems, mountpoint: h.mountpoint, dir }
        : {
            name,
            subsystems: name.split(',').map((s) => (s === 'systemd' ? 'name=systemd' : s)),
            mountpoint: join(layout.mountRoot, name),
            dir,
          },
    );
  }
  return new V1Manager(dirs, unified);
}
