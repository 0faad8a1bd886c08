// OCI mount options → mount(2) flags, propagation flags and the data string, as runc reads them.
import { MS } from './constants.js';

export interface ParsedMountOptions {
  /** Flags for the mount itself (MS_RDONLY, MS_NOSUID, ..., MS_BIND, MS_REC). */
  flags: number;
  /** Propagation changes applied after the mount, in order (each MS_PRIVATE etc., maybe | MS_REC). */
  propagation: number[];
  /** Filesystem-specific options passed as data ("mode=755,size=65536k"). */
  data: string;
  /** runt/crun/podman extensions that change how the mount is made. */
  extensions: Set<string>;
  /** tmpcopyup (the later of tmpcopyup and notmpcopyup wins, as in runc). */
  tmpcopyup: boolean;
  /** The recursive options (rro, rnosuid, ...) as mount_setattr attributes for the whole tree. */
  recursive: { set: number; clr: number } | null;
}

/** struct mount_attr bits (linux/mount.h). */
export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  _ATIME: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  IDMAP: 0x100000,
  NOSYMFOLLOW: 0x200000,
} as const;

/** Recursive options: [set (true) or clear (false), the attribute]. The atime modes are one field
 *  of the kernel's (MOUNT_ATTR__ATIME): setting one clears the others, and clearing one means the
 *  default, relatime. */
export const RECURSIVE: Record<string, [boolean, number]> = {
  rro: [true, MOUNT_ATTR.RDONLY],
  rrw: [false, MOUNT_ATTR.RDONLY],
  rnosuid: [true, MOUNT_ATTR.NOSUID],
  rsuid: [false, MOUNT_ATTR.NOSUID],
  rnodev: [true, MOUNT_ATTR.NODEV],
  rdev: [false, MOUNT_ATTR.NODEV],
  rnoexec: [true, MOUNT_ATTR.NOEXEC],
  rexec: [false, MOUNT_ATTR.NOEXEC],
  rnodiratime: [true, MOUNT_ATTR.NODIRATIME],
  rdiratime: [false, MOUNT_ATTR.NODIRATIME],
  rnosymfollow: [true, MOUNT_ATTR.NOSYMFOLLOW],
  rsymfollow: [false, MOUNT_ATTR.NOSYMFOLLOW],
  rnoatime: [true, MOUNT_ATTR.NOATIME],
  ratime: [false, MOUNT_ATTR.NOATIME],
  rstrictatime: [true, MOUNT_ATTR.STRICTATIME],
  rnostrictatime: [false, MOUNT_ATTR.STRICTATIME],
  rrelatime: [true, MOUNT_ATTR.RELATIME],
  rnorelatime: [false, MOUNT_ATTR.RELATIME],
};
const ATIME_MODES = new Set(['rnoatime', 'ratime', 'rstrictatime', 'rnostrictatime', 'rrelatime', 'rnorelatime']);

const SET: Record<string, number> = {
  ro: MS.RDONLY,
  nosuid: MS.NOSUID,
  nodev: MS.NODEV,
  noexec: MS.NOEXEC,
  sync: MS.SYNCHRONOUS,
  remount: MS.REMOUNT,
  mand: MS.MANDLOCK,
  dirsync: MS.DIRSYNC,
  noatime: MS.NOATIME,
  nodiratime: MS.NODIRATIME,
  bind: MS.BIND,
  rbind: MS.BIND | MS.REC,
  relatime: MS.RELATIME,
  strictatime: MS.STRICTATIME,
  lazytime: MS.LAZYTIME,
  silent: MS.SILENT,
  nosymfollow: MS.NOSYMFOLLOW,
  iversion: MS.I_VERSION,
};

const CLEAR: Record<string, number> = {
  rw: MS.RDONLY,
  suid: MS.NOSUID,
  dev: MS.NODEV,
  exec: MS.NOEXEC,
  async: MS.SYNCHRONOUS,
  nomand: MS.MANDLOCK,
  atime: MS.NOATIME,
  diratime: MS.NODIRATIME,
  norelatime: MS.RELATIME,
  nostrictatime: MS.STRICTATIME,
  nolazytime: MS.LAZYTIME,
  loud: MS.SILENT,
  symfollow: MS.NOSYMFOLLOW,
  noiversion: MS.I_VERSION,
};

export const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Options that are not for the kernel; accepted and handled (or knowingly ignored) by the planner. */
const EXTENSIONS = new Set(['tmpcopyup', 'notmpcopyup', 'copy-symlink', 'idmap', 'ridmap', 'z', 'Z', 'U']);

/** The extensions the planner carries out (tmpcopyup on tmpfs, idmap/ridmap on binds), for the features document. */
export const IMPLEMENTED_EXTENSIONS = new Set(['tmpcopyup', 'notmpcopyup', 'idmap', 'ridmap']);

export function parseMountOptions(options: readonly string[] = []): ParsedMountOptions {
  let flags = 0;
  const propagation: number[] = [];
  const data: string[] = [];
  const extensions = new Set<string>();
  let tmpcopyup = false;
  let recursive: { set: number; clr: number } | null = null;
  for (const opt of options) {
    if (opt === 'tmpcopyup' || opt === 'notmpcopyup') tmpcopyup = opt === 'tmpcopyup';
    if (opt in RECURSIVE) {
      const [set, attr] = RECURSIVE[opt];
      const r: { set: number; clr: number } = recursive ?? { set: 0, clr: 0 };
      const bits = ATIME_MODES.has(opt) ? MOUNT_ATTR._ATIME : attr;
      r.set &= ~bits;
      r.clr &= ~bits;
      if (ATIME_MODES.has(opt)) {
        r.clr |= MOUNT_ATTR._ATIME;
        if (set) r.set |= attr;
      } else if (set) r.set |= attr;
      else r.clr |= attr;
      recursive = r;
    } else if (opt in SET) flags |= SET[opt];
    else if (opt in CLEAR) flags &= ~CLEAR[opt];
    else if (opt in PROPAGATION) propagation.push(PROPAGATION[opt]);
    else if (EXTENSIONS.has(opt)) extensions.add(opt);
    else if (opt === 'defaults') continue;
    else data.push(opt);
  }
  return { flags, propagation, data: data.join(','), extensions, tmpcopyup, recursive };
}

/** Flags that can change on a bind mount only through a second, MS_REMOUNT|MS_BIND, mount. */
export const BIND_REMOUNT_FLAGS =
  MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME | MS.NODIRATIME | MS.RELATIME | MS.STRICTATIME | MS.NOSYMFOLLOW;

export function flagNames(flags: number): string[] {
  const names: string[] = [];
  const all: Record<string, number> = { ...MS };
  for (const [name, bit] of Object.entries(all)) if (flags & bit) names.push(`MS_${name}`);
  return names;
}
