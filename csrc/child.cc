// The child's main loop: start-up (signals, stdio, fd layout), then one step after another.
// Simple credential/namespace steps live here; filesystem steps in child_fs.cc, process steps in
// child_proc.cc. Async-signal-safe code only (see executor.h).
#include "child.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "executor.h"
#include "fdpass.h"

namespace runt {
namespace child {

char g_slots[kPayloadSlots][kPayloadMax];

FdGuard::~FdGuard() {
  if (fd_ >= 0) close(fd_);
}

void FdGuard::Reset(int fd) {
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
}

bool Executor::Send(uint32_t type, int32_t pid, uint64_t usec, int fd, bool withText) {
  ChildMsg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  m.step = step;
  m.err = withText ? err : 0;
  m.pid = pid;
  m.usec = usec;
  if (withText) memcpy(m.text, text.c_str(), text.size() + 1);
  return SendWithFd(sock, &m, sizeof m, fd) == static_cast<ssize_t>(sizeof m);
}

int Executor::KeepAboveFloor(int fd) {
  if (fd < 0 || fd >= plan->fdFloor) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, plan->fdFloor);
  if (moved >= 0) close(fd);
  return moved;
}

bool Executor::SetRoot(int fd) {
  fd = KeepAboveFloor(fd);
  if (fd < 0) {
    Fail(errno).Add("open root");
    return false;
  }
  if (rootfd >= 0) close(rootfd);
  rootfd = fd;
  return true;
}

int Executor::Root() {
  if (rootfd < 0 && !SetRoot(open("/", O_PATH | O_DIRECTORY | O_CLOEXEC))) return -1;
  return rootfd;
}

namespace {

[[noreturn]] void Die(Executor& ex) {
  ex.Send(MSG_ERROR, 0, 0, -1, true);
  _exit(1);
}

// Kernel layout of struct sigaction for rt_sigaction (x86_64 and the asm-generic arches).
struct KernelSigaction {
  void* handler;
  unsigned long flags;
  void* restorer;
  uint64_t mask;
};

// execve reset Node's caught signals, but not the ones Node ignores (SIGPIPE): back to SIG_DFL
// for all, then unblock everything (the runtime blocked all signals around clone3).
void ResetSignals() {
  KernelSigaction dfl = {};
  dfl.handler = reinterpret_cast<void*>(SIG_DFL);
  for (int sig = 1; sig <= 64; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(uint64_t));
  }
  uint64_t none = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof none);
}

// The cgroup v1 `tasks` files the parent opened: "0" moves this thread, which is the whole
// process (nothing else runs in the child), without the global lock a cgroup.procs write takes.
bool JoinCgroups(Executor& ex) {
  for (int fd : ex.plan->cgroupTaskFds) {
    if (write(fd, "0", 1) != 1) {
      ex.Fail(errno).Add("linux.cgroupsPath: join the cgroup (tasks)");
      return false;
    }
    close(fd);
  }
  return true;
}

// cfg.stdio[i] → fd i. Sources go to fresh high fds first so a swap (e.g. [1, 0, 2]) works.
bool SetupStdio(Executor& ex) {
  int moved[3] = {-1, -1, -1};
  bool ok = true;
  for (int i = 0; i < 3 && ok; i++) {
    if (ex.plan->stdio[i] < 0) continue;
    moved[i] = fcntl(ex.plan->stdio[i], F_DUPFD_CLOEXEC, ex.plan->fdFloor);
    if (moved[i] < 0) {
      ex.Fail(errno).Add("stdio: fd ").Add(static_cast<int64_t>(ex.plan->stdio[i]));
      ok = false;
    }
  }
  for (int i = 0; i < 3 && ok; i++) {
    if (moved[i] >= 0 && dup2(moved[i], i) < 0) {
      ex.Fail(errno).Add("stdio: dup2 to ").Add(static_cast<int64_t>(i));
      ok = false;
    }
  }
  for (int fd : moved)
    if (fd >= 0) close(fd);
  // Inherited stdio (-1) may be close-on-exec in the runtime (Node sets it on its pipes):
  // 0-2 belong to the container and its hooks, so they must survive execve.
  for (int fd = 0; fd < 3 && ok; fd++) fcntl(fd, F_SETFD, 0);
  return ok;
}

// The sync socket and every fd a step refers to must survive exec's close_range and must not
// shadow the preserved fds 3 .. fdFloor-1: move them up and rewrite the (private) plan.
bool MoveInternalFds(Executor& ex) {
  ex.sock = ex.KeepAboveFloor(ex.sock);
  if (ex.sock < 0) {
    ex.Fail(errno).Add("move sync socket");
    return false;
  }
  Plan& plan = *ex.plan;
  for (size_t i = 0; i < plan.steps.size(); i++) {
    Step& s = plan.steps[i];
    int* ref = StepFd(s);
    if (!ref || *ref >= plan.fdFloor) continue;
    int old = *ref;
    int moved = ex.KeepAboveFloor(old);
    if (moved < 0) {
      ex.Fail(errno).Add("move fd ").Add(static_cast<int64_t>(old));
      return false;
    }
    for (size_t j = i; j < plan.steps.size(); j++) {
      Step& t = plan.steps[j];
      int* other = StepFd(t);
      if (other && *other == old) *other = moved;
    }
  }
  return true;
}

// The runtime cleared close-on-exec on the fds runt-init needs (so that they crossed its exec):
// none of them may cross the exec of the container's process.
void MarkInternalFdsCloexec(Executor& ex) {
  fcntl(ex.sock, F_SETFD, FD_CLOEXEC);
  for (Step& s : ex.plan->steps) {
    if (int* fd = StepFd(s)) fcntl(*fd, F_SETFD, FD_CLOEXEC);
  }
}

// Whatever else the runtime had open (state-dir locks, Node's own fds, other containers' pipes)
// must not live on in a parked init: a held flock would block `start`, and a host fd is an escape
// hatch. Close every fd at or above the floor except the internal ones.
void CloseStrayFds(Executor& ex) {
  int keep[64];
  size_t n = 0;
  keep[n++] = ex.sock;
  for (Step& s : ex.plan->steps) {
    int fd = StepFd(s) ? *StepFd(s) : -1;
    if (fd >= ex.plan->fdFloor && n < 64) keep[n++] = fd;
  }
  for (size_t i = 1; i < n; i++) {  // insertion sort: n is tiny
    for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  }
  unsigned from = static_cast<unsigned>(ex.plan->fdFloor);
  for (size_t i = 0; i < n; i++) {
    unsigned fd = static_cast<unsigned>(keep[i]);
    if (fd > from) syscall(SYS_close_range, from, fd - 1, 0);
    if (fd + 1 > from) from = fd + 1;
  }
  syscall(SYS_close_range, from, ~0U, 0);
}

bool StepCapset(Executor& ex, const CapsetArgs& a) {
  __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2];
  data[0].effective = static_cast<uint32_t>(a.effective);
  data[0].permitted = static_cast<uint32_t>(a.permitted);
  data[0].inheritable = static_cast<uint32_t>(a.inheritable);
  data[1].effective = static_cast<uint32_t>(a.effective >> 32);
  data[1].permitted = static_cast<uint32_t>(a.permitted >> 32);
  data[1].inheritable = static_cast<uint32_t>(a.inheritable >> 32);
  if (syscall(SYS_capset, &header, data) < 0) {
    ex.Fail(errno).Add("capset");
    return false;
  }
  return true;
}

bool StepCapBounding(Executor& ex, const CapBoundingArgs& a) {
  for (int cap = 0; cap <= a.lastCap; cap++) {
    if (a.keep & (uint64_t{1} << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      ex.Fail(errno).Add("drop capability ").Add(static_cast<int64_t>(cap)).Add(" from the bounding set");
      return false;
    }
  }
  return true;
}

bool StepAmbient(Executor& ex, const AmbientArgs& a) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    ex.Fail(errno).Add("clear the ambient capabilities");
    return false;
  }
  for (size_t i = 0; i < a.count; i++) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, a.caps[i], 0, 0) < 0) {
      ex.Fail(errno).Add("raise ambient capability ").Add(static_cast<int64_t>(a.caps[i]));
      return false;
    }
  }
  return true;
}

// A cwd reached through a leaked fd (process.cwd "/proc/self/fd/N") would lie outside the root
// (CVE-2024-21626). The kernel's getcwd shows that as "(unreachable)/...": refuse it.
bool StepChdir(Executor& ex, const PathArgs& a) {
  if (chdir(a.path) < 0) {
    ex.Fail(errno).Add("chdir ").Add(a.path);
    return false;
  }
  char cwd[PATH_MAX];
  long n = syscall(SYS_getcwd, cwd, sizeof cwd);
  if (n < 0 || cwd[0] != '/') {
    ex.Fail(n < 0 ? errno : EPERM).Add("chdir ").Add(a.path).Add(": the working directory is outside the container's root");
    return false;
  }
  return true;
}

// The common shape "one syscall; on failure say what": returns ok, fills the failure text.
bool Check(Executor& ex, long rc, const char* what, const char* arg = nullptr) {
  if (rc >= 0) return true;
  Text& t = ex.Fail(errno).Add(what);
  if (arg) t.Add(" ").Add(arg);
  return false;
}

bool RunStep(Executor& ex, Step& s) {
  switch (s.op) {
    case Op::Sync: return StepSync(ex, s.sync);
    case Op::Setns: return Check(ex, setns(s.setns.fd, s.setns.nstype), "setns", s.setns.name);
    case Op::Unshare: return Check(ex, unshare(s.unshare.flags), "unshare");
    case Op::Fork: return StepFork(ex, s.fork);
    case Op::Mount: return StepMount(ex, s.mount);
    case Op::OpenRoot: return StepOpenRoot(ex, s.path);
    case Op::PivotRoot: return StepPivotRoot(ex);
    case Op::MoveRoot: return StepMoveRoot(ex);
    case Op::Chroot: return StepChroot(ex);
    case Op::MoveMount: return StepMoveMount(ex, s.moveMount);
    case Op::NetDevice: return StepNetDevice(ex, s.netDevice);
    case Op::Mask: return StepMask(ex, s.mask);
    case Op::Mknod: return StepMknod(ex, s.mknod);
    case Op::Symlink: return StepSymlink(ex, s.symlink);
    case Op::WriteProc: return StepWriteProc(ex, s.writeProc);
    case Op::Sethostname: return Check(ex, sethostname(s.name.name, s.name.len), "sethostname", s.name.name);
    case Op::Setdomainname: return Check(ex, setdomainname(s.name.name, s.name.len), "setdomainname", s.name.name);
    case Op::Setrlimit: {
      uint64_t limit[2] = {s.rlimit.soft, s.rlimit.hard};
      if (syscall(SYS_prlimit64, 0, s.rlimit.resource, limit, nullptr) < 0) {
        ex.Fail(errno).Add("setrlimit ").Add(static_cast<int64_t>(s.rlimit.resource));
        return false;
      }
      return true;
    }
    case Op::Prctl:
      if (prctl(s.prctl.option, s.prctl.arg2, 0, 0, 0) < 0) {
        ex.Fail(errno).Add("prctl ").Add(static_cast<int64_t>(s.prctl.option));
        return false;
      }
      return true;
    case Op::CapBounding: return StepCapBounding(ex, s.capBounding);
    case Op::Capset: return StepCapset(ex, s.capset);
    case Op::Ambient: return StepAmbient(ex, s.ambient);
    // Raw syscalls: glibc's set*id wrappers run their multi-thread broadcast machinery, which a
    // single-threaded runt-init does not need.
    case Op::Setgroups: return Check(ex, syscall(SYS_setgroups, s.setgroups.count, s.setgroups.gids), "setgroups");
    case Op::Setresgid: {
      gid_t g = s.id.id;
      if (syscall(SYS_setresgid, g, g, g) < 0) {
        ex.Fail(errno).Add("setresgid ").AddUnsigned(g);
        return false;
      }
      return true;
    }
    case Op::Setresuid: {
      uid_t u = s.id.id;
      if (syscall(SYS_setresuid, u, u, u) < 0) {
        ex.Fail(errno).Add("setresuid ").AddUnsigned(u);
        return false;
      }
      return true;
    }
    case Op::Umask: umask(s.umask.mask); return true;
    case Op::Chdir: return StepChdir(ex, s.path);
    case Op::Setsid: return Check(ex, setsid(), "setsid");
    case Op::Terminal: return StepTerminal(ex, s.terminal);
    case Op::Hook: return StepHook(ex, s.hook);
    case Op::ResolveExec: return StepResolveExec(ex, s.resolveExec);
    case Op::Park: return StepPark(ex, s.park);
    case Op::Seccomp: return StepSeccomp(ex, s.seccomp);
    case Op::PrepareFds: return StepPrepareFds(ex, s.prepareFds);
    case Op::Exec: return StepExec(ex, s.exec);
    case Op::Mkdir: return StepMkdir(ex, s.mkdir);
    case Op::Sched: return StepSched(ex, s.sched);
    case Op::Ioprio: return StepIoprio(ex, s.ioprio);
    case Op::Affinity: return StepAffinity(ex, s.bits);
    case Op::Mempolicy: return StepMempolicy(ex, s.bits);
    case Op::Personality: return StepPersonality(ex, s.personality);
    case Op::MountSetattr: return StepMountSetattr(ex, s.mountSetattr);
    case Op::JoinKeyring:
      // A kernel without keyrings is fine: there is no host keyring to hide then.
      if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, s.path.path) < 0 && errno != ENOSYS) {
        ex.Fail(errno).Add("join a new session keyring ").Add(s.path.path);
        return false;
      }
      return true;
  }
  ex.Fail(EINVAL).Add("unknown step");
  return false;
}

}  // namespace
}  // namespace child

void RunChild(Plan& plan, int sock) {
  using namespace child;
  Executor ex;
  ex.plan = &plan;
  ex.sock = sock;

  ResetSignals();
  if (plan.pdeathSig > 0 && prctl(PR_SET_PDEATHSIG, plan.pdeathSig, 0, 0, 0) < 0) {
    ex.Fail(errno).Add("prctl PR_SET_PDEATHSIG");
    Die(ex);
  }
  if (!JoinCgroups(ex) || !SetupStdio(ex) || !MoveInternalFds(ex)) Die(ex);
  CloseStrayFds(ex);
  MarkInternalFdsCloexec(ex);

  for (size_t i = 0; i < plan.steps.size(); i++) {
    ex.step = static_cast<int>(i);
    uint64_t start = plan.trace ? sigsafe::MonotonicUsec() : 0;
    if (!RunStep(ex, plan.steps[i])) Die(ex);
    if (plan.trace && !ex.filtered) ex.Send(MSG_TRACE, 0, sigsafe::MonotonicUsec() - start);
  }
  _exit(0);
}

}  // namespace runt
