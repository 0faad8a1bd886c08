// Idmapped bind mounts (mounts[].options idmap/ridmap) are prepared by the runtime, in the host's
// user and mount namespaces: only a process privileged over the source filesystem's superblock may
// idmap its mounts, which runt-init inside a container's user namespace is not. The result is a
// detached mount (an fd) that runt-init attaches in the container's mount namespace (moveMount).
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "args.h"
#include "errors.h"
#include "exports.h"

namespace runt {
namespace {

bool WriteProcFile(pid_t pid, const char* name, const std::string& text) {
  std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = write(fd, text.data(), text.size());
  int saved = errno;
  close(fd);
  errno = saved;
  return n == static_cast<ssize_t>(text.size());
}

// A user namespace holding the given maps, as an fd: a child made with CLONE_NEWUSER only waits
// (a raw fork in a threaded process: it runs nothing but pause), the maps are written from here,
// the namespace is opened through /proc, and the child is killed and reaped.
int UserNamespaceFd(const std::string& uidMap, const std::string& gidMap, const char** failed) {
  pid_t parent = getpid();
  long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) {
    *failed = "clone(CLONE_NEWUSER)";
    return -1;
  }
  if (pid == 0) {
    // Never outlive the runtime, even if it dies before the kill below.
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    if (syscall(SYS_getppid) != parent) _exit(0);
    for (;;) syscall(SYS_pause);
  }
  int fd = -1;
  if (!WriteProcFile(static_cast<pid_t>(pid), "uid_map", uidMap)) *failed = "write uid_map";
  else if (!WriteProcFile(static_cast<pid_t>(pid), "gid_map", gidMap)) *failed = "write gid_map";
  else {
    std::string ns = "/proc/" + std::to_string(pid) + "/ns/user";
    fd = open(ns.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) *failed = "open the user namespace";
  }
  int saved = errno;
  kill(static_cast<pid_t>(pid), SIGKILL);
  while (waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
  }
  errno = saved;
  return fd;
}

}  // namespace

// idmappedTree(source, uidMap, gidMap, cloneRecursive, idmapRecursive) → fd of a detached clone of
// the mount at source (with its submounts when cloneRecursive), idmapped with a user namespace
// holding the maps ("containerID hostID size" lines), recursively when idmapRecursive.
Napi::Value IdmappedTree(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source = StringArg(info, 0, "idmappedTree");
  std::string uidMap = StringArg(info, 1, "idmappedTree");
  std::string gidMap = StringArg(info, 2, "idmappedTree");
  bool cloneRecursive = info[3].ToBoolean().Value();
  bool idmapRecursive = info[4].ToBoolean().Value();

  const char* failed = nullptr;
  int userns = UserNamespaceFd(uidMap, gidMap, &failed);
  if (userns < 0) ThrowErrno(env, failed, errno);
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (cloneRecursive ? AT_RECURSIVE : 0);
  int tree = static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, source.c_str(), flags));
  if (tree < 0) {
    int e = errno;
    close(userns);
    ThrowErrno(env, "open_tree", e);
  }
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns);
  long rc = syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (idmapRecursive ? AT_RECURSIVE : 0), &attr, sizeof attr);
  int e = errno;
  close(userns);
  if (rc < 0) {
    close(tree);
    ThrowErrno(env, "mount_setattr(MOUNT_ATTR_IDMAP)", e);
  }
  return Napi::Number::New(env, tree);
}

}  // namespace runt
