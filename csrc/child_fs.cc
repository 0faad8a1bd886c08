// Filesystem steps of the child: mounts, the root switch, masks, device nodes, symlinks and
// file writes. "In root" paths go through openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) so
// that no symlink in the image can lead outside of it. Async-signal-safe code only.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

#include "executor.h"
#include "procfs.h"

namespace runt::child {

int OpenInRoot(int root, const char* path, uint64_t flags, uint64_t mode) {
  open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  if (!*path) path = ".";
  return static_cast<int>(syscall(SYS_openat2, root, path, &how, sizeof how));
}

namespace {

// Creates the missing components of `path` in root: directories 0755 on the way, the last one as
// a directory or an empty file with `mode`. Each parent is resolved afresh in root, so a
// component that is a symlink is followed only inside root. Existing components are fine.
// A component that exists as a symlink whose target is missing (an image's `/var/run -> /run`
// before /run exists): runc creates the target, inside root. Rewrites the path through the link
// into `out`; false when the component is not such a link.
bool ThroughDanglingLink(int root, int parent, const char* name, char* buf, size_t nameStart,
                         const char* rest, char (&out)[PATH_MAX]) {
  struct stat st;
  if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) return false;
  int probe = OpenInRoot(root, buf, O_PATH);
  if (probe >= 0) {
    close(probe);
    return false;
  }
  if (errno != ENOENT) return false;
  char link[PATH_MAX];
  ssize_t n = readlinkat(parent, name, link, sizeof link - 1);
  if (n <= 0) return false;
  link[n] = '\0';
  size_t len = 0;
  auto add = [&](const char* s, size_t n) {
    if (len + n + 1 > sizeof out) return false;
    memcpy(out + len, s, n);
    len += n;
    out[len] = '\0';
    return true;
  };
  out[0] = '\0';
  bool ok = (link[0] == '/' || add(buf, nameStart)) && add(link, static_cast<size_t>(n));
  if (ok && rest && *rest) ok = add("/", 1) && add(rest, strlen(rest));
  return ok;
}

bool CreateInRoot(Executor& ex, int root, const char* path, MkdirMode kind, mode_t mode, int depth = 0) {
  if (depth > 40) {
    ex.Fail(ELOOP).Add("create ").Add(path);
    return false;
  }
  char buf[PATH_MAX];
  if (!sigsafe::CopyString(buf, sizeof buf, path)) {
    ex.Fail(ENAMETOOLONG).Add("create ").Add(path);
    return false;
  }
  FdGuard parentOwned;
  int parent = root;
  size_t i = 0;
  for (;;) {
    while (buf[i] == '/') i++;
    if (!buf[i]) return true;
    size_t start = i;
    while (buf[i] && buf[i] != '/') i++;
    size_t end = i;
    size_t next = end;
    while (buf[next] == '/') next++;
    bool last = !buf[next];
    char saved = buf[end];
    buf[end] = '\0';
    const char* name = buf + start;
    const char* rest = last ? nullptr : buf + next;
    char through[PATH_MAX];
    if (last && kind == MkdirMode::File) {
      int fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
      if (fd >= 0) close(fd);
      else if (errno != EEXIST) {
        ex.Fail(errno).Add("create ").Add(path);
        return false;
      } else if (ThroughDanglingLink(root, parent, name, buf, start, rest, through)) {
        return CreateInRoot(ex, root, through, kind, mode, depth + 1);
      }
      return true;
    }
    if (mkdirat(parent, name, last ? mode : 0755) < 0) {
      if (errno != EEXIST) {
        ex.Fail(errno).Add("mkdir ").Add(buf);
        return false;
      }
      if (ThroughDanglingLink(root, parent, name, buf, start, rest, through)) {
        return CreateInRoot(ex, root, through, kind, mode, depth + 1);
      }
    }
    if (last) return true;
    int fd = OpenInRoot(root, buf, O_PATH | O_DIRECTORY);
    if (fd < 0) {
      ex.Fail(errno).Add("open ").Add(buf);
      return false;
    }
    parentOwned.Reset(fd);
    parent = fd;
    buf[end] = saved;
  }
}

// Opens `path` in root as O_PATH; when missing and `kind` allows it, creates it first.
// Returns -1 with ex.Fail set; ex.err == ENOENT means the path is missing.
int OpenOrCreateInRoot(Executor& ex, int root, const char* path, MkdirMode kind, mode_t mode) {
  int fd = OpenInRoot(root, path, O_PATH);
  if (fd < 0 && errno == ENOENT && kind != MkdirMode::None) {
    if (!CreateInRoot(ex, root, path, kind, mode)) return -1;
    fd = OpenInRoot(root, path, O_PATH);
  }
  if (fd < 0) ex.Fail(errno).Add("open ").Add(path).Add(" in root");
  return fd;
}

// Splits `path` into its parent directory (opened in root, created 0755 if missing) and its
// last component, copied into `name`.
int OpenParentInRoot(Executor& ex, const char* path, char (&name)[NAME_MAX + 1]) {
  int root = ex.Root();
  if (root < 0) return -1;
  char buf[PATH_MAX];
  if (!sigsafe::CopyString(buf, sizeof buf, path)) {
    ex.Fail(ENAMETOOLONG).Add(path);
    return -1;
  }
  size_t len = strlen(buf);
  while (len > 1 && buf[len - 1] == '/') buf[--len] = '\0';
  char* slash = strrchr(buf, '/');
  const char* base = slash ? slash + 1 : buf;
  if (!*base || !sigsafe::CopyString(name, sizeof name, base)) {
    ex.Fail(EINVAL).Add("bad path ").Add(path);
    return -1;
  }
  if (slash) *slash = '\0';
  else buf[0] = '\0';
  return OpenOrCreateInRoot(ex, root, buf, MkdirMode::Dir, 0755);
}

// statfs flags that a bind remount in a user namespace must keep (ST_* → MS_*).
unsigned long LockedFlags(const char* target, unsigned long requested) {
  struct statfs st;
  if (statfs(target, &st) < 0) return 0;
  unsigned long out = 0;
  if (st.f_flags & ST_NOSUID) out |= MS_NOSUID;
  if (st.f_flags & ST_NODEV) out |= MS_NODEV;
  if (st.f_flags & ST_NOEXEC) out |= MS_NOEXEC;
  // Only one atime mode can be asked for; keep the current one unless the step names its own.
  if (!(requested & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME))) {
    if (st.f_flags & ST_NOATIME) out |= MS_NOATIME;
    if (st.f_flags & ST_RELATIME) out |= MS_RELATIME;
  }
  if (st.f_flags & ST_NODIRATIME) out |= MS_NODIRATIME;
  return out;
}

bool ExistsOutsideRoot(const char* path) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return errno != ENOENT;
  close(fd);
  return true;
}

Text& MountFailure(Executor& ex, int err, const MountArgs& a) {
  return ex.Fail(err).Add("mount ").Add(a.source ? a.source : a.fstype ? a.fstype : "none").Add(" on ").Add(a.target);
}


// ---- tmpcopyup: the directory a tmpfs covers, copied into the tmpfs ----------------------------
// Only fd-relative syscalls on names read from the directory itself, each with O_NOFOLLOW or
// AT_SYMLINK_NOFOLLOW: a symlink in the image is copied as a symlink and never followed, so the
// copy cannot read or write outside the two directories. Bounded: depth kCopyMaxDepth, fixed
// buffers, no allocation. Regular files, directories, symlinks and fifos are copied with their
// mode, owner and times; device nodes and sockets are skipped; hard links become separate files.

constexpr int kCopyMaxDepth = 64;
char g_copyBuf[64 * 1024];  // the executor is single-threaded

struct CopyUp {
  Executor& ex;
  const char* target;
  char rel[PATH_MAX];  // the path being copied, relative to the target (for errors)
  size_t relLen;
};

bool CopyFail(CopyUp& c, int e, const char* what) {
  c.ex.Fail(e).Add("tmpcopyup ").Add(c.target).Add(": ").Add(what).Add(" ").Add(c.relLen ? c.rel : ".");
  return false;
}

bool CopyBytes(int from, int to) {
  for (;;) {
    ssize_t n = sendfile(to, from, nullptr, 1 << 30);
    if (n > 0) continue;
    if (n == 0) return true;
    if (errno == EINTR) continue;
    if (errno != EINVAL && errno != ENOSYS) return false;
    break;  // not supported for this pair: nothing was copied, fall back to read/write
  }
  for (;;) {
    ssize_t n = read(from, g_copyBuf, sizeof g_copyBuf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(to, g_copyBuf + done, static_cast<size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        if (w == 0) errno = EIO;
        return false;
      }
      done += w;
    }
  }
}

// Owner first: chown clears set-id bits, so the mode goes on after it.
bool CopyMetaFd(CopyUp& c, int fd, const struct stat& st) {
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (fchown(fd, st.st_uid, st.st_gid) < 0) return CopyFail(c, errno, "chown");
  if (fchmod(fd, st.st_mode & 07777) < 0) return CopyFail(c, errno, "chmod");
  if (futimens(fd, times) < 0) return CopyFail(c, errno, "set times of");
  return true;
}

__attribute__((noinline)) bool CopySymlink(CopyUp& c, int src, int dst, const char* name, const struct stat& st) {
  char link[PATH_MAX];
  ssize_t n = readlinkat(src, name, link, sizeof link - 1);
  if (n < 0) return CopyFail(c, errno, "readlink");
  link[n] = '\0';
  if (symlinkat(link, dst, name) < 0) return CopyFail(c, errno, "symlink");
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) return CopyFail(c, errno, "chown");
  if (utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW) < 0) return CopyFail(c, errno, "set times of");
  return true;
}

bool CopyFile(CopyUp& c, int src, int dst, const char* name, const struct stat& st) {
  FdGuard from(openat(src, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
  if (from.get() < 0) return CopyFail(c, errno, "open");
  FdGuard to(openat(dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (to.get() < 0) return CopyFail(c, errno, "create");
  if (!CopyBytes(from.get(), to.get())) return CopyFail(c, errno, "copy");
  return CopyMetaFd(c, to.get(), st);
}

bool CopyFifo(CopyUp& c, int dst, const char* name, const struct stat& st) {
  if (mknodat(dst, name, S_IFIFO | 0600, 0) < 0) return CopyFail(c, errno, "mkfifo");
  // An O_PATH fd of the fifo itself (no open for reading, which would block).
  FdGuard fd(openat(dst, name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return CopyFail(c, errno, "open");
  sigsafe::FdPath path(fd.get());
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (fchownat(dst, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) return CopyFail(c, errno, "chown");
  if (fchmodat(AT_FDCWD, path.path, st.st_mode & 07777, 0) < 0) return CopyFail(c, errno, "chmod");
  if (utimensat(dst, name, times, AT_SYMLINK_NOFOLLOW) < 0) return CopyFail(c, errno, "set times of");
  return true;
}

struct Dirent64 {
  uint64_t ino;
  int64_t off;
  unsigned short reclen;
  unsigned char type;
  char name[];
};

bool CopyTree(CopyUp& c, int src, int dst, int depth);

bool CopyEntry(CopyUp& c, int src, int dst, const char* name, int depth) {
  struct stat st;
  if (fstatat(src, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return CopyFail(c, errno, "stat");
  switch (st.st_mode & S_IFMT) {
    case S_IFREG: return CopyFile(c, src, dst, name, st);
    case S_IFLNK: return CopySymlink(c, src, dst, name, st);
    case S_IFIFO: return CopyFifo(c, dst, name, st);
    case S_IFDIR: {
      if (depth >= kCopyMaxDepth) return CopyFail(c, ELOOP, "too deep:");
      if (mkdirat(dst, name, 0700) < 0) return CopyFail(c, errno, "mkdir");
      FdGuard from(openat(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (from.get() < 0) return CopyFail(c, errno, "open");
      FdGuard to(openat(dst, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (to.get() < 0) return CopyFail(c, errno, "open");
      if (!CopyTree(c, from.get(), to.get(), depth + 1)) return false;
      return CopyMetaFd(c, to.get(), st);  // last, so a read-only directory could be filled
    }
    default: return true;  // device nodes and sockets are not copied
  }
}

/** Whether the directory open at fd has no entry but . and .. (on error: not empty). */
bool DirIsEmpty(int fd) {
  FdGuard dup(openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dup.get() < 0) return false;
  alignas(8) char buf[512];
  long n = syscall(SYS_getdents64, dup.get(), buf, sizeof buf);
  if (n <= 0) return n == 0;
  for (long off = 0; off < n;) {
    const auto* d = reinterpret_cast<const Dirent64*>(buf + off);
    off += d->reclen;
    const char* name = d->name;
    if (!(name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))) return false;
  }
  return true;
}

bool CopyTree(CopyUp& c, int src, int dst, int depth) {
  alignas(8) char buf[2048];
  for (;;) {
    long n = syscall(SYS_getdents64, src, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return CopyFail(c, errno, "read directory");
    if (n == 0) return true;
    for (long off = 0; off < n;) {
      const auto* d = reinterpret_cast<const Dirent64*>(buf + off);
      off += d->reclen;
      const char* name = d->name;
      if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) continue;
      size_t saved = c.relLen;
      size_t len = strlen(name);
      if (saved + 1 + len + 1 > sizeof c.rel) return CopyFail(c, ENAMETOOLONG, "path too long under");
      if (saved) c.rel[c.relLen++] = '/';
      memcpy(c.rel + c.relLen, name, len + 1);
      c.relLen += len;
      if (!CopyEntry(c, src, dst, name, depth)) return false;
      c.relLen = saved;
      c.rel[saved] = '\0';
    }
  }
}

}  // namespace

bool StepMount(Executor& ex, const MountArgs& a) {
  int root = -1;
  if (a.targetInRoot || a.sourceInRoot) {
    root = ex.Root();
    if (root < 0) return false;
  }

  FdGuard targetFd;
  sigsafe::FdPath targetPath;
  const char* target = a.target;
  if (a.targetInRoot) {
    targetFd.Reset(OpenOrCreateInRoot(ex, root, a.target, a.mkdir, a.mode));
    if (targetFd.get() < 0) return ex.err == ENOENT && a.optional;
    targetPath = sigsafe::FdPath(targetFd.get());
    target = targetPath.path;
  } else if (a.optional && !ExistsOutsideRoot(a.target)) {
    return true;
  }

  FdGuard sourceFd;
  sigsafe::FdPath sourcePath;
  const char* source = a.source;
  if (a.sourceInRoot) {
    sourceFd.Reset(OpenInRoot(root, a.source, O_PATH));
    if (sourceFd.get() < 0) {
      if (errno == ENOENT && a.optional) return true;
      MountFailure(ex, errno, a).Add(": source");
      return false;
    }
    sourcePath = sigsafe::FdPath(sourceFd.get());
    source = sourcePath.path;
  } else if (a.optional && (a.flags & MS_BIND) && a.source && !ExistsOutsideRoot(a.source)) {
    return true;
  }

  // tmpcopyup: the directory under the mount, opened before the mount covers it.
  FdGuard lower;
  if (a.copyUp) {
    lower.Reset(openat(targetFd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (lower.get() < 0) {
      MountFailure(ex, errno, a).Add(": tmpcopyup: open the directory to copy");
      return false;
    }
  }

  unsigned long flags = a.flags;
  if (a.keepFlags) flags |= LockedFlags(target, flags);
  if (mount(source, target, a.fstype, flags, a.data) < 0) {
    MountFailure(ex, errno, a);
    return false;
  }

  if (a.hasExpectFs) {
    // A fresh lookup: the old fd still points at what was there before the mount.
    FdGuard mounted(a.targetInRoot ? OpenInRoot(root, a.target, O_PATH) : open(a.target, O_PATH | O_CLOEXEC));
    struct statfs st;
    if (mounted.get() < 0 || fstatfs(mounted.get(), &st) < 0) {
      MountFailure(ex, errno, a).Add(": statfs");
      return false;
    }
    if (static_cast<uint32_t>(st.f_type) != static_cast<uint32_t>(a.expectFs)) {
      MountFailure(ex, EXDEV, a).Add(": unexpected filesystem type");
      return false;
    }
  }

  if (a.copyUp) {
    // A fresh lookup reaches the new mount; it must be a tmpfs of its own, not the lower directory.
    FdGuard upper(OpenInRoot(root, a.target, O_RDONLY | O_DIRECTORY));
    struct statfs sfs;
    struct stat lowerSt, upperSt;
    if (upper.get() < 0 || fstatfs(upper.get(), &sfs) < 0 || fstat(upper.get(), &upperSt) < 0 ||
        fstat(lower.get(), &lowerSt) < 0) {
      MountFailure(ex, errno, a).Add(": tmpcopyup: open the new mount");
      return false;
    }
    // A bind mount (a volume's first mount) must bring another directory, and is filled only when
    // it is empty; anything else must be a tmpfs of its own.
    const bool bind = (a.flags & MS_BIND) != 0;
    if (bind ? (upperSt.st_dev == lowerSt.st_dev && upperSt.st_ino == lowerSt.st_ino)
             : (static_cast<uint32_t>(sfs.f_type) != 0x01021994u /* TMPFS_MAGIC */ || upperSt.st_dev == lowerSt.st_dev)) {
      MountFailure(ex, EXDEV, a).Add(bind ? ": copy-up: the bind mount did not cover the directory" : ": tmpcopyup: the new mount is not a tmpfs");
      return false;
    }
    if (bind && !DirIsEmpty(upper.get())) return true;
    CopyUp c{ex, a.target, {}, 0};
    if (!CopyTree(c, lower.get(), upper.get(), 0)) return false;
  }
  return true;
}

bool StepMkdir(Executor& ex, const MkdirArgs& a) {
  int root = ex.Root();
  if (root < 0) return false;
  int fd = OpenOrCreateInRoot(ex, root, a.path, MkdirMode::Dir, a.mode);
  if (fd < 0) return false;
  close(fd);
  return true;
}

bool StepOpenRoot(Executor& ex, const PathArgs& a) {
  int fd = open(a.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    ex.Fail(errno).Add("open root ").Add(a.path);
    return false;
  }
  return ex.SetRoot(fd);
}

namespace {

// The working directory made the new root (fchdir); false with ex.Fail set.
bool EnterNewRoot(Executor& ex) {
  int root = ex.Root();
  if (root < 0) return false;
  if (fchdir(root) < 0) {
    ex.Fail(errno).Add("fchdir to the new root");
    return false;
  }
  return true;
}

// chroot to the working directory, then "/" there becomes the executor's root fd.
bool ChrootHere(Executor& ex) {
  if (chroot(".") < 0) {
    ex.Fail(errno).Add("chroot");
    return false;
  }
  if (chdir("/") < 0) {
    ex.Fail(errno).Add("chdir /");
    return false;
  }
  return ex.SetRoot(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
}

}  // namespace

bool StepPivotRoot(Executor& ex) {
  if (!EnterNewRoot(ex)) return false;
  // Stack the old root under the new one, then detach it: no directory for put_old is needed.
  if (syscall(SYS_pivot_root, ".", ".") < 0) {
    ex.Fail(errno).Add("pivot_root");
    return false;
  }
  if (mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
    ex.Fail(errno).Add("make the old root rslave");
    return false;
  }
  if (umount2(".", MNT_DETACH) < 0) {
    ex.Fail(errno).Add("detach the old root");
    return false;
  }
  if (chdir("/") < 0) {
    ex.Fail(errno).Add("chdir /");
    return false;
  }
  return ex.SetRoot(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
}

bool StepMoveRoot(Executor& ex) {
  if (!EnterNewRoot(ex)) return false;
  if (mount(".", "/", nullptr, MS_MOVE, nullptr) < 0) {
    ex.Fail(errno).Add("move the new root to /");
    return false;
  }
  return ChrootHere(ex);
}

// The recursive mount options (rro, rnosuid, ...) and recursive propagation: one mount_setattr on
// the mount at target with AT_RECURSIVE, which changes every mount below it as well (a plain
// MS_REMOUNT|MS_BIND changes only the top one).
// Attaches the detached mount the runtime prepared (an idmapped bind) at target in root; the fd is
// closed once it is attached (the mount lives on in the tree).
bool StepMoveMount(Executor& ex, const MoveMountArgs& a) {
  int root = ex.Root();
  if (root < 0) return false;
  FdGuard tree(a.fd);
  FdGuard target(OpenOrCreateInRoot(ex, root, a.target, a.mkdir, 0755));
  if (target.get() < 0) return false;
  if (syscall(SYS_move_mount, tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    ex.Fail(errno).Add("move_mount on ").Add(a.target);
    return false;
  }
  return true;
}

bool StepMountSetattr(Executor& ex, const MountSetattrArgs& a) {
  int root = ex.Root();
  if (root < 0) return false;
  FdGuard target(OpenInRoot(root, a.target, O_PATH));
  if (target.get() < 0) {
    ex.Fail(errno).Add("mount_setattr ").Add(a.target).Add(": open");
    return false;
  }
  struct mount_attr attr = {};
  attr.attr_set = a.attrSet;
  attr.attr_clr = a.attrClr;
  attr.propagation = a.propagation;
  unsigned flags = AT_EMPTY_PATH | (a.recursive ? AT_RECURSIVE : 0);
  if (syscall(SYS_mount_setattr, target.get(), "", flags, &attr, sizeof attr) < 0) {
    ex.Fail(errno).Add("mount_setattr ").Add(a.target);
    return false;
  }
  return true;
}

// Without a mount namespace of its own the container shares the caller's mounts: pivot_root or
// MS_MOVE would change the root of every process there, so the init only chroots into the rootfs.
bool StepChroot(Executor& ex) {
  return EnterNewRoot(ex) && ChrootHere(ex);
}

namespace {

constexpr unsigned kMaskAttrs = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;

// The container's /dev/null, taken only if it is what it claims: opened in root without following
// any symlink (an image's /dev/null -> /proc/sys/kernel/core_pattern, CVE-2025-31133), and
// checked to be the 1:3 character device. An O_PATH fd, or -1 with ex.Fail set.
int OpenNullDevice(Executor& ex, int root, const MaskArgs& a) {
  open_how how = {};
  how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  FdGuard fd(static_cast<int>(syscall(SYS_openat2, root, "/dev/null", &how, sizeof how)));
  struct stat st;
  if (fd.get() < 0 || fstat(fd.get(), &st) < 0) {
    ex.Fail(errno).Add("mask ").Add(a.path).Add(": open /dev/null without following links");
    return -1;
  }
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3) {
    ex.Fail(ENODEV).Add("mask ").Add(a.path).Add(": /dev/null is not the null device (1:3)");
    return -1;
  }
  return fd.Release();
}

// A detached mount, already read-only (it is never attached writable), then moved onto target.
bool AttachReadOnly(Executor& ex, const MaskArgs& a, int tree, int target, const char* what) {
  mount_attr attr = {};
  attr.attr_set = kMaskAttrs;
  if (mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
    ex.Fail(errno).Add("mask ").Add(a.path).Add(": make the ").Add(what).Add(" read-only");
    return false;
  }
  if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    ex.Fail(errno).Add("mask ").Add(a.path).Add(": attach the ").Add(what);
    return false;
  }
  return true;
}

// An empty tmpfs, created read-only (fsmount with MOUNT_ATTR_RDONLY).
int EmptyTmpfs(Executor& ex, const MaskArgs& a) {
  FdGuard fs(fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (fs.get() < 0 || fsconfig(fs.get(), FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
      fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    ex.Fail(errno).Add("mask ").Add(a.path).Add(": create an empty tmpfs");
    return -1;
  }
  int mnt = fsmount(fs.get(), FSMOUNT_CLOEXEC, kMaskAttrs | MOUNT_ATTR_NODEV);
  if (mnt < 0) ex.Fail(errno).Add("mask ").Add(a.path).Add(": create an empty tmpfs");
  return mnt;
}

}  // namespace

bool StepMask(Executor& ex, const MaskArgs& a) {
  int root = ex.Root();
  if (root < 0) return false;
  FdGuard fd(OpenInRoot(root, a.path, O_PATH));
  if (fd.get() < 0) {
    if (errno == ENOENT) return true;
    ex.Fail(errno).Add("mask ").Add(a.path);
    return false;
  }
  if (a.hasExpectFs) {
    struct statfs sfs;
    if (fstatfs(fd.get(), &sfs) < 0) {
      ex.Fail(errno).Add("mask ").Add(a.path).Add(": statfs");
      return false;
    }
    if (static_cast<uint32_t>(sfs.f_type) != static_cast<uint32_t>(a.expectFs)) {
      ex.Fail(EXDEV).Add("mask ").Add(a.path).Add(": not on the expected filesystem");
      return false;
    }
  }
  struct stat st;
  if (fstat(fd.get(), &st) < 0) {
    ex.Fail(errno).Add("mask ").Add(a.path);
    return false;
  }
  // Never by path, never writable: the source is an fd checked first, and the new mount is made
  // read-only while still detached, whatever steps come after (readonlyPaths or not).
  if (S_ISDIR(st.st_mode)) {
    FdGuard tmpfs(EmptyTmpfs(ex, a));
    return tmpfs.get() >= 0 && AttachReadOnly(ex, a, tmpfs.get(), fd.get(), "empty tmpfs");
  }
  FdGuard null(OpenNullDevice(ex, root, a));
  if (null.get() < 0) return false;
  FdGuard bind(open_tree(null.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (bind.get() < 0) {
    ex.Fail(errno).Add("mask ").Add(a.path).Add(": bind /dev/null");
    return false;
  }
  return AttachReadOnly(ex, a, bind.get(), fd.get(), "bind of /dev/null");
}

bool StepMknod(Executor& ex, const MknodArgs& a) {
  char name[NAME_MAX + 1];
  FdGuard parent(OpenParentInRoot(ex, a.path, name));
  if (parent.get() < 0) return false;
  const dev_t dev = makedev(a.major, a.minor);
  if (mknodat(parent.get(), name, a.mode, dev) < 0) {
    if (errno != EEXIST) {
      ex.Fail(errno).Add("mknod ").Add(a.path);
      return false;
    }
    // Something of the image's is there already. The very node is kept as it is; anything else (a
    // symlink to a host file, a regular file, other numbers) is replaced: later steps trust this
    // path to be the device the config names. A directory is not removed: refused.
    struct stat st;
    if (fstatat(parent.get(), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      ex.Fail(errno).Add("mknod ").Add(a.path).Add(": stat the existing entry");
      return false;
    }
    if ((st.st_mode & S_IFMT) == (a.mode & S_IFMT) && (S_ISFIFO(st.st_mode) || st.st_rdev == dev)) return true;
    if (S_ISDIR(st.st_mode)) {
      ex.Fail(EEXIST).Add("mknod ").Add(a.path).Add(": a directory is in the way");
      return false;
    }
    if (unlinkat(parent.get(), name, 0) < 0 || mknodat(parent.get(), name, a.mode, dev) < 0) {
      ex.Fail(errno).Add("mknod ").Add(a.path).Add(": replace what the image has there");
      return false;
    }
  }
  if (fchownat(parent.get(), name, a.uid, a.gid, AT_SYMLINK_NOFOLLOW) < 0) {
    ex.Fail(errno).Add("chown ").Add(a.path);
    return false;
  }
  if (fchmodat(parent.get(), name, a.mode & 07777, 0) < 0) {
    ex.Fail(errno).Add("chmod ").Add(a.path);
    return false;
  }
  return true;
}

bool StepSymlink(Executor& ex, const SymlinkArgs& a) {
  char name[NAME_MAX + 1];
  FdGuard parent(OpenParentInRoot(ex, a.path, name));
  if (parent.get() < 0) return false;
  if (symlinkat(a.target, parent.get(), name) < 0 && errno != EEXIST) {
    ex.Fail(errno).Add("symlink ").Add(a.path);
    return false;
  }
  return true;
}

int Executor::ProcRoot() {
  if (procRoot >= 0) return procRoot;
  procRoot = KeepAboveFloor(procfs::OpenRoot());
  if (procRoot < 0) Fail(errno).Add("open a procfs to write to (fresh, a clone of /proc, or /proc: none is a procfs root)");
  return procRoot;
}

bool StepWriteProc(Executor& ex, const WriteProcArgs& a) {
  int proc = ex.ProcRoot();
  if (proc < 0) return false;
  // plan.cc made sure the path starts with /proc/.
  FdGuard fd(procfs::OpenBeneath(proc, a.path + 6, O_WRONLY));
  if (fd.get() < 0) {
    ex.Fail(errno).Add("open ").Add(a.path).Add(errno == EXDEV ? ": something is mounted over it, or it is not that procfs's file" : "");
    return false;
  }
  size_t done = 0;
  while (done < a.len) {
    ssize_t n = write(fd.get(), a.data + done, a.len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ex.Fail(n < 0 ? errno : EIO).Add("write ").Add(a.path);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace runt::child
