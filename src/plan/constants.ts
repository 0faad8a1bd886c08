// Kernel constants the planner needs (values from the Linux UAPI headers, x86-64 and all arches alike).
import { CAPABILITIES as CAPABILITY_NUMBERS, RLIMITS } from '../spec/constants.js';

export const CLONE = {
  NEWTIME: 0x00000080,
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

/** OCI namespace type → clone flag and the name of its /proc/PID/ns entry. */
export const NAMESPACES: Record<string, { flag: number; proc: string }> = {
  user: { flag: CLONE.NEWUSER, proc: 'user' },
  pid: { flag: CLONE.NEWPID, proc: 'pid' },
  network: { flag: CLONE.NEWNET, proc: 'net' },
  ipc: { flag: CLONE.NEWIPC, proc: 'ipc' },
  uts: { flag: CLONE.NEWUTS, proc: 'uts' },
  mount: { flag: CLONE.NEWNS, proc: 'mnt' },
  cgroup: { flag: CLONE.NEWCGROUP, proc: 'cgroup' },
  time: { flag: CLONE.NEWTIME, proc: 'time' },
};

/** Order in which namespaces given by path are joined: user first (it grants the rights to join
 *  the others), mount last (it changes what paths mean). */
export const JOIN_ORDER = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];

export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  SYNCHRONOUS: 16,
  REMOUNT: 32,
  MANDLOCK: 64,
  DIRSYNC: 128,
  NOSYMFOLLOW: 256,
  NOATIME: 1024,
  NODIRATIME: 2048,
  BIND: 4096,
  MOVE: 8192,
  REC: 16384,
  SILENT: 32768,
  UNBINDABLE: 1 << 17,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
  I_VERSION: 1 << 23,
  STRICTATIME: 1 << 24,
  LAZYTIME: 1 << 25,
} as const;

export const PR = {
  SET_PDEATHSIG: 1,
  SET_DUMPABLE: 4,
  SET_KEEPCAPS: 8,
  SET_NO_NEW_PRIVS: 38,
} as const;

export const FS_MAGIC = {
  PROC: 0x9fa0,
  SYSFS: 0x62656572,
} as const;

/** Capability names by number (the index is the number), from the spec's table. */
export const CAPABILITIES: readonly string[] = Object.entries(CAPABILITY_NUMBERS)
  .sort(([, a], [, b]) => a - b)
  .map(([name]) => name);

export function capNumber(name: string): number {
  return CAPABILITY_NUMBERS[name] ?? -1;
}

export { RLIMITS };

export const S_IF = { CHR: 0o020000, BLK: 0o060000, FIFO: 0o010000 } as const;
