// A procfs that nothing can have been mounted over, for every write runt makes under /proc (the
// CVE-2025-52881 class: a bind mount over /proc/sys/... or /proc/PID/... redirecting the write to
// another file). Shared by runt-init (sysctls) and the addon (uid/gid maps, oom_score_adj,
// timens_offsets). Async-signal-safe: raw syscalls, no allocation.
#pragma once

namespace runt::procfs {

// An O_PATH fd of the root of a procfs, the first of these that works:
//  1. a fresh instance, never attached anywhere (fsopen/fsmount): no one can mount over its files;
//  2. a non-recursive clone of the mount at /proc (open_tree OPEN_TREE_CLONE): the mounts on top of
//     /proc's files are not part of the clone;
//  3. /proc itself.
// Each is checked to be the root of a procfs (PROC_SUPER_MAGIC, inode 1). -1 with errno set.
int OpenRoot();

// Opens `rel` ("sys/net/ipv4/ip_forward", "1234/uid_map") beneath `root` with openat2
// RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS: no symlink is
// followed and no mount point crossed (a file with something mounted on it fails with EXDEV), then
// checks the result is on that very procfs (PROC_SUPER_MAGIC and the root's st_dev). -1 with errno
// set (EXDEV when a check fails).
int OpenBeneath(int root, const char* rel, int flags);

}  // namespace runt::procfs
