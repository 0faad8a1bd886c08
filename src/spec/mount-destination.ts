// Where a mount may not go. Checked twice: on the destination as written (validation), and on the
// destination resolved through the rootfs's symlinks (the planner), since `/x -> /` or
// `/x -> /proc/sys` in an image turns an innocent destination into one of these.
//
// - The root itself: the rootfs is root.path; a mount on `/` (or on a link to it) would be dropped
//   by pivot_root, silently. runc refuses it too.
// - /proc (runc's checkProcMount, the CVE-2025-52881 class): only a procfs goes on /proc (a fresh
//   `proc` mount, or a bind whose source is a procfs: the planner checks the source). Under /proc
//   nothing at all, except the files lxcfs emulates, which runc allows. A bind over a /proc file
//   would redirect what runt writes there (sysctls) and what masks cover.

import { posix } from 'node:path';

/** The /proc entries a mount may cover (runc's list: what lxcfs emulates). */
export const PROC_MOUNT_EXCEPTIONS: readonly string[] = [
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/net/dev',
  '/proc/sys/kernel/ns_last_pid',
  '/proc/sys/crypto/fips_enabled',
];

/** `/a/../b//` → `/b`. */
export function normalizeDestination(dest: string): string {
  const n = posix.normalize(`/${dest}`);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** What is wrong with mounting at `dest` (absolute, normalized), or undefined when nothing is. A
 *  bind on /proc passes here; whether its source is a procfs is for the planner to check. */
export function destinationProblem(dest: string, type: string | undefined, isBind: boolean): string | undefined {
  if (dest === '/') return 'a mount on the container\'s root ("/") is not allowed (the root is root.path)';
  if (dest === '/proc') {
    if (type === 'proc' || isBind) return undefined;
    return `only a procfs may be mounted on /proc, not ${type ? `"${type}"` : 'this mount'}`;
  }
  if (dest.startsWith('/proc/') && !PROC_MOUNT_EXCEPTIONS.includes(dest)) {
    return `nothing may be mounted inside /proc (${dest}): it would redirect what the runtime writes and masks there`;
  }
  return undefined;
}
