// Process steps of the child: sync points, fork, terminal, hooks, parking, seccomp and the final
// execve. Async-signal-safe code only.
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "executor.h"

namespace runt::child {
namespace {

long Clone3(uint64_t flags, int* pidfd, int exitSignal) {
  clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = flags | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uintptr_t>(pidfd);
  args.exit_signal = static_cast<uint64_t>(exitSignal);
  long pid = syscall(SYS_clone3, &args, sizeof args);
  // Seccomp profiles answer ENOSYS for clone3 (a filter cannot read its flags) and allow clone;
  // hooks may run after the filter is loaded. clone stores the pidfd through its third argument.
  if (pid < 0 && errno == ENOSYS)
    pid = syscall(SYS_clone, static_cast<unsigned long>(flags | CLONE_PIDFD | static_cast<uint64_t>(exitSignal)), nullptr, pidfd, nullptr, nullptr);
  return pid;
}

// Waits for the process behind pidfd; timeoutMs 0 waits forever. False on timeout.
bool WaitWithTimeout(int pidfd, int timeoutMs, siginfo_t* info) {
  if (timeoutMs > 0) {
    uint64_t deadline = sigsafe::MonotonicUsec() + static_cast<uint64_t>(timeoutMs) * 1000u;
    for (;;) {
      uint64_t now = sigsafe::MonotonicUsec();
      if (now >= deadline) return false;
      pollfd p = {pidfd, POLLIN, 0};
      int rc = poll(&p, 1, static_cast<int>((deadline - now + 999) / 1000));
      if (rc > 0) break;
      if (rc < 0 && errno != EINTR) return false;
    }
  }
  memset(info, 0, sizeof *info);
  while (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), info, WEXITED) < 0 && errno == EINTR) {
  }
  return true;
}

// The path to execute: `name` itself when it has a '/', else the first executable regular
// file `dir/name` for dir in searchPath. Absolute candidates are looked up in root, relative ones
// from the working directory. Like execvp, EACCES wins over ENOENT when both were seen, and an
// unexpected error ends the search.
int CheckExecutable(Executor& ex, const char* candidate) {
  int fd;
  if (candidate[0] == '/') {
    int root = ex.Root();
    if (root < 0) return ex.err;
    fd = OpenInRoot(root, candidate, O_PATH);
  } else {
    fd = openat(AT_FDCWD, candidate, O_PATH | O_CLOEXEC);
  }
  if (fd < 0) return errno;
  FdGuard guard(fd);
  struct stat st;
  if (fstat(fd, &st) < 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) < 0) {
    if (errno != ENOSYS && errno != EPERM) return errno;
    if (!(st.st_mode & 0111)) return EACCES;
  }
  return 0;
}

bool Resolve(Executor& ex, const char* name, const char* searchPath) {
  if (!*name) {
    ex.Fail(ENOENT).Add("executable name is empty");
    return false;
  }
  if (strchr(name, '/')) {
    int err = CheckExecutable(ex, name);
    if (err) {
      ex.Fail(err).Add("exec ").Add(name);
      return false;
    }
    if (!sigsafe::CopyString(ex.resolved, sizeof ex.resolved, name)) {
      ex.Fail(ENAMETOOLONG).Add("exec ").Add(name);
      return false;
    }
    ex.hasResolved = true;
    return true;
  }
  size_t nameLen = strlen(name);
  bool sawEacces = false;
  const char* dir = searchPath;
  for (;;) {
    const char* end = strchr(dir, ':');
    size_t dirLen = end ? static_cast<size_t>(end - dir) : strlen(dir);
    char candidate[PATH_MAX];
    if (dirLen + 1 + nameLen + 1 <= sizeof candidate) {
      size_t n = 0;
      if (dirLen) {  // an empty entry means the working directory
        memcpy(candidate, dir, dirLen);
        n = dirLen;
        if (candidate[n - 1] != '/') candidate[n++] = '/';
      }
      memcpy(candidate + n, name, nameLen + 1);
      int err = CheckExecutable(ex, candidate);
      if (!err) {
        memcpy(ex.resolved, candidate, strlen(candidate) + 1);
        ex.hasResolved = true;
        return true;
      }
      if (err == EACCES) {
        sawEacces = true;
      } else if (err != ENOENT && err != ENOTDIR && err != ELOOP && err != ENAMETOOLONG && err != ESTALE &&
                 err != ENODEV && err != ETIMEDOUT) {
        ex.Fail(err).Add("exec ").Add(candidate);  // a real error, not "not here": stop like execvp
        return false;
      }
    }
    if (!end) break;
    dir = end + 1;
  }
  ex.Fail(sawEacces ? EACCES : ENOENT).Add("exec ").Add(name).Add(": not found in PATH");
  return false;
}

}  // namespace

bool StepSync(Executor& ex, const SyncArgs& a) {
  ex.Send(MSG_SYNC, a.tag, 0);
  ParentMsg head;
  memset(&head, 0, sizeof head);
  iovec iov[2] = {{&head, sizeof head}, {a.slot >= 0 ? g_slots[a.slot] : nullptr, a.slot >= 0 ? kPayloadMax : 0}};
  msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = iov;
  msg.msg_iovlen = a.slot >= 0 ? 2 : 1;
  ssize_t n;
  do n = recvmsg(ex.sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  // ABORT or the runtime gone: stop quietly, the runtime already knows.
  if (n < static_cast<ssize_t>(sizeof head) || head.type != MSG_ACK) _exit(1);
  if (a.slot >= 0) ex.slotLen[a.slot] = static_cast<size_t>(n) - sizeof head;
  return true;
}

bool StepFork(Executor& ex, const ForkArgs& a) {
  // The new process waits until the intermediate has sent MSG_PID (and exited), so the runtime
  // always learns the pid before any message of the new process.
  int gate[2];
  if (pipe2(gate, O_CLOEXEC) < 0) {
    ex.Fail(errno).Add("fork: pipe");
    return false;
  }
  int pidfd = -1;
  long pid = Clone3(CLONE_PARENT | a.flags, &pidfd, 0);
  if (pid < 0) {
    ex.Fail(errno).Add("fork");
    close(gate[0]);
    close(gate[1]);
    return false;
  }
  if (pid == 0) {
    close(gate[1]);
    char byte;
    while (read(gate[0], &byte, 1) < 0 && errno == EINTR) {
    }
    close(gate[0]);
    // The death signal does not survive a fork; the runtime is still our parent (CLONE_PARENT).
    if (ex.plan->pdeathSig > 0) prctl(PR_SET_PDEATHSIG, ex.plan->pdeathSig, 0, 0, 0);
    return true;
  }
  close(gate[0]);
  if (!ex.Send(MSG_PID, static_cast<int32_t>(pid), 0, pidfd)) {
    // Nobody would know about the new process: take it down with us.
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    _exit(1);
  }
  _exit(0);
}

// The pty peer on /dev/console (the init's terminal), with no path resolution the image could steer
// (CVE-2025-52565): /dev is opened inside root, the name "console" is looked at without following
// it, a symlink or anything else that is not a regular file or a character device is removed, an
// empty file is created if nothing is there, the file is opened O_NOFOLLOW, and the pty is bound on
// that fd with open_tree + move_mount.
static bool BindConsole(Executor& ex, int peer) {
  int root = ex.Root();
  if (root < 0) return false;
  FdGuard dev(OpenInRoot(root, "/dev", O_PATH | O_DIRECTORY));
  if (dev.get() < 0) {
    ex.Fail(errno).Add("/dev/console: open /dev");
    return false;
  }
  struct stat st;
  if (fstatat(dev.get(), "console", &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode)) {
      ex.Fail(EISDIR).Add("/dev/console: the image has a directory there");
      return false;
    }
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && unlinkat(dev.get(), "console", 0) < 0) {
      ex.Fail(errno).Add("/dev/console: remove what the image put there");
      return false;
    }
  } else if (errno != ENOENT) {
    ex.Fail(errno).Add("/dev/console: stat");
    return false;
  }
  FdGuard dir(openat(dev.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) {
    ex.Fail(errno).Add("/dev/console: open /dev");
    return false;
  }
  int made = openat(dir.get(), "console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (made >= 0) close(made);
  else if (errno != EEXIST) {
    ex.Fail(errno).Add("/dev/console: create");
    return false;
  }
  FdGuard target(openat(dir.get(), "console", O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (target.get() < 0 || fstat(target.get(), &st) < 0) {
    ex.Fail(errno).Add("/dev/console: open");
    return false;
  }
  if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode)) {
    ex.Fail(ELOOP).Add("/dev/console: replaced while being set up");
    return false;
  }
  FdGuard tree(static_cast<int>(syscall(SYS_open_tree, peer, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)));
  if (tree.get() < 0) {
    ex.Fail(errno).Add("/dev/console: open_tree of the pty");
    return false;
  }
  if (syscall(SYS_move_mount, tree.get(), "", target.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    ex.Fail(errno).Add("/dev/console: bind the pty");
    return false;
  }
  return true;
}

bool StepTerminal(Executor& ex, const TerminalArgs& a) {
  FdGuard master(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (master.get() < 0) {
    ex.Fail(errno).Add("open /dev/ptmx");
    return false;
  }
  int unlock = 0;
  if (ioctl(master.get(), TIOCSPTLCK, &unlock) < 0) {
    ex.Fail(errno).Add("unlock the pty");
    return false;
  }
  FdGuard peer(ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (peer.get() < 0) {
    ex.Fail(errno).Add("open the pty peer");
    return false;
  }
  if (a.rows > 0 || a.cols > 0) {
    winsize ws = {a.rows, a.cols, 0, 0};
    if (ioctl(master.get(), TIOCSWINSZ, &ws) < 0) {
      ex.Fail(errno).Add("set the terminal size");
      return false;
    }
  }
  if (a.console && !BindConsole(ex, peer.get())) return false;
  if (!ex.Send(MSG_FD, FD_TAG_TERMINAL, 0, master.get())) {
    ex.Fail(errno).Add("send the pty master");
    return false;
  }
  master.Reset(-1);
  if (getsid(0) != getpid() && setsid() < 0) {
    ex.Fail(errno).Add("setsid");
    return false;
  }
  if (ioctl(peer.get(), TIOCSCTTY, 0) < 0) {
    ex.Fail(errno).Add("make the pty the controlling terminal");
    return false;
  }
  for (int fd = 0; fd < 3; fd++) {
    if (dup2(peer.get(), fd) < 0) {
      ex.Fail(errno).Add("dup the pty to stdio");
      return false;
    }
  }
  return true;
}

bool StepHook(Executor& ex, const HookArgs& a) {
  // The payload is written before the hook starts: the pipe is sized to hold it all, so the
  // write never blocks and an early exit of the hook can never raise SIGPIPE here.
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    ex.Fail(errno).Add("hook ").Add(a.path).Add(": pipe");
    return false;
  }
  FdGuard readEnd(pipefd[0]);
  FdGuard writeEnd(pipefd[1]);
  size_t len = a.stdinSlot >= 0 ? ex.slotLen[a.stdinSlot] : 0;
  if (len > 0) {
    const char* data = g_slots[a.stdinSlot];
    if (fcntl(writeEnd.get(), F_SETPIPE_SZ, static_cast<int>(len)) < 0 && len > 4096) {
      ex.Fail(errno).Add("hook ").Add(a.path).Add(": pipe size");
      return false;
    }
    size_t done = 0;
    while (done < len) {
      ssize_t n = write(writeEnd.get(), data + done, len - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ex.Fail(n < 0 ? errno : EIO).Add("hook ").Add(a.path).Add(": write state");
        return false;
      }
      done += static_cast<size_t>(n);
    }
  }
  writeEnd.Reset(-1);

  int pidfd = -1;
  long pid = Clone3(0, &pidfd, SIGCHLD);
  if (pid < 0) {
    ex.Fail(errno).Add("hook ").Add(a.path).Add(": fork");
    return false;
  }
  if (pid == 0) {
    if (dup2(readEnd.get(), 0) >= 0) execve(a.path, a.argv, a.envp);
    _exit(127);
  }
  FdGuard process(pidfd);
  readEnd.Reset(-1);

  siginfo_t info;
  if (!WaitWithTimeout(pidfd, a.timeoutMs, &info)) {
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    WaitWithTimeout(pidfd, 0, &info);
    ex.Fail(ETIMEDOUT).Add("hook ").Add(a.path).Add(" timed out after ").Add(static_cast<int64_t>(a.timeoutMs)).Add(" ms");
    return false;
  }
  if (info.si_code == CLD_EXITED && info.si_status == 0) return true;
  Text& t = ex.Fail(0).Add("hook ").Add(a.path);
  if (info.si_code == CLD_EXITED) t.Add(" exited with status ").Add(static_cast<int64_t>(info.si_status));
  else t.Add(" was killed by signal ").Add(static_cast<int64_t>(info.si_status));
  return false;
}

bool StepResolveExec(Executor& ex, const ResolveExecArgs& a) { return Resolve(ex, a.name, a.searchPath); }

bool StepPark(Executor& ex, const ParkArgs& a) {
  ex.Send(MSG_PARKED, 0, 0);
  char byte;
  ssize_t n;
  do n = read(a.fd, &byte, 1);
  while (n < 0 && errno == EINTR);
  if (n == 1) return true;
  if (n == 0) ex.Fail(EPIPE).Add("park: the exec fifo was closed");
  else ex.Fail(errno).Add("park: read the exec fifo");
  return false;
}

bool StepSeccomp(Executor& ex, const SeccompArgs& a) {
  sock_fprog prog = {a.len, const_cast<sock_filter*>(a.filter)};
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, a.flags, &prog);
  if (rc < 0) {
    ex.Fail(errno).Add("seccomp");
    return false;
  }
  ex.filtered = true;
  if (a.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
    ex.Send(MSG_FD, FD_TAG_SECCOMP_LISTENER, 0, static_cast<int>(rc));
    close(static_cast<int>(rc));
  }
  return true;
}

// The fd work of exec, done before the seccomp filter is loaded so that the filter meets nothing
// but execve: everything from 3 + preserveFds up becomes close-on-exec (the sync socket keeps
// working until the exec), the preserved fds lose it, and 0-2 lose O_NONBLOCK.
bool StepPrepareFds(Executor& ex, const PrepareFdsArgs& a) {
  unsigned first = 3u + static_cast<unsigned>(a.preserveFds);
  if (syscall(SYS_close_range, first, ~0u, CLOSE_RANGE_CLOEXEC) < 0) {
    // A kernel before 5.11: mark the fds one by one instead.
    uint64_t limit[2] = {1024, 1024};
    syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, nullptr, limit);
    for (unsigned fd = first; fd < limit[0] && fd < (1u << 20); fd++) fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  }
  // The preserved fds reach the process whatever their flags were: Node marks the fds it inherits
  // close-on-exec.
  for (int fd = 3; fd < static_cast<int>(first); fd++) fcntl(fd, F_SETFD, 0);
  for (int fd = 0; fd < 3; fd++) {
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0 && (flags & O_NONBLOCK)) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  }
  ex.fdsPrepared = true;
  return true;
}

bool StepExec(Executor& ex, const ExecArgs& a) {
  if (!ex.hasResolved && !Resolve(ex, a.name, a.searchPath)) return false;
  if (!ex.fdsPrepared) {
    PrepareFdsArgs fds = {a.preserveFds};
    StepPrepareFds(ex, fds);
  }
  execve(ex.resolved, a.argv, a.envp);
  ex.Fail(errno).Add("exec ").Add(ex.resolved);
  return false;
}

}  // namespace runt::child
