// See procfs.h.
#include "procfs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace runt::procfs {

namespace {

constexpr ino_t kProcRootIno = 1;  // include/linux/proc_ns.h: PROC_ROOT_INO

bool IsProcfs(int fd) {
  struct statfs sfs;
  return fstatfs(fd, &sfs) == 0 && static_cast<uint32_t>(sfs.f_type) == PROC_SUPER_MAGIC;
}

// Keeps `fd` only when it is the root of a procfs; closes it otherwise.
int CheckedRoot(int fd) {
  if (fd < 0) return -1;
  struct stat st;
  if (IsProcfs(fd) && fstat(fd, &st) == 0 && st.st_ino == kProcRootIno && S_ISDIR(st.st_mode)) return fd;
  close(fd);
  errno = EXDEV;
  return -1;
}

int FreshInstance() {
  int fs = fsopen("proc", FSOPEN_CLOEXEC);
  if (fs < 0) return -1;
  int mnt = -1;
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) {
    mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
  }
  int saved = errno;
  close(fs);
  errno = saved;
  return mnt;
}

}  // namespace

int OpenRoot() {
  int fd = CheckedRoot(FreshInstance());
  if (fd < 0) fd = CheckedRoot(open_tree(AT_FDCWD, "/proc", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (fd < 0) fd = CheckedRoot(open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
  return fd;
}

int OpenBeneath(int root, const char* rel, int flags) {
  struct stat rootSt;
  if (fstat(root, &rootSt) < 0) return -1;
  open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_NOFOLLOW | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(syscall(SYS_openat2, root, rel, &how, sizeof how));
  if (fd < 0) return -1;
  struct stat st;
  if (!IsProcfs(fd) || fstat(fd, &st) < 0 || st.st_dev != rootSt.st_dev) {
    close(fd);
    errno = EXDEV;
    return -1;
  }
  return fd;
}

}  // namespace runt::procfs
