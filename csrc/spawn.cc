// spawn() / spawnAsync(): build the plan, hand it to a fresh runt-init process and return.
//
// The child of clone3 shares Node's memory (CLONE_VM | CLONE_VFORK, on a small stack of its own):
// copying the page tables of a large multithreaded process costs milliseconds, and a copy of Node
// would be what the parked init keeps in memory until `start`. The child only clears close-on-exec
// on the fds the plan names and execs runt-init (a small static program, from a sealed memfd copy);
// runt-init reads the plan from a memfd and runs the steps (child.cc). The calling thread sleeps
// until that exec has happened (vfork semantics), and the child touches only its own stack and the
// Trampoline data of that sleeping thread; Node's other threads go on, and never see either.
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "errors.h"
#include "exports.h"
#include "plan_blob.h"
#include "plan_build.h"

namespace runt {
namespace {

// What the clone child reads (shared memory, prepared by the parent) and writes back (err).
struct Trampoline {
  int initFd;
  const int* keep;
  size_t keepCount;
  char* const* argv;
  char* const* envp;
  int err;
};

// Runs in the clone child on its own stack, sharing the parent's memory: raw syscalls only, and
// nothing written but `err`.
[[noreturn]] void TrampolineMain(void* arg) {
  auto* t = static_cast<Trampoline*>(arg);
  for (size_t i = 0; i < t->keepCount; i++) syscall(SYS_fcntl, t->keep[i], F_SETFD, 0);
  syscall(SYS_execveat, t->initFd, "", t->argv, t->envp, AT_EMPTY_PATH);
  t->err = errno;
  syscall(SYS_exit, 127);
  __builtin_unreachable();
}

#if defined(__x86_64__)
constexpr bool kSharedVm = true;
// clone3 on a new stack: the child starts with the stack pointer at its top, so it must not return
// into this function's frame. It calls fn(arg), which never returns.
long Clone3OnStack(clone_args* args, void (*fn)(void*), void* arg) {
  long ret;
  register void (*r12)(void*) asm("r12") = fn;
  register void* r13 asm("r13") = arg;
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "ud2\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "0"(static_cast<long>(SYS_clone3)), "D"(args), "S"(sizeof *args), "r"(r12), "r"(r13)
      : "rcx", "r11", "memory");
  return ret;
}
#else
// Elsewhere: an ordinary (copying) clone3 whose child execs runt-init at once.
constexpr bool kSharedVm = false;
long Clone3OnStack(clone_args* args, void (*fn)(void*), void* arg) {
  long ret = syscall(SYS_clone3, args, sizeof *args);
  if (ret == 0) fn(arg);
  return ret < 0 ? -errno : ret;
}
#endif

// runt-init sits next to the addon (build/Release). It is copied once per process into a sealed
// memfd and executed from there: a container process that could reach /proc/PID/exe of an init
// must not be able to rewrite the binary the next container runs (CVE-2019-5736).
std::mutex g_initMutex;
int g_initFd = -1;

std::string InitPath() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void*>(&InitPath), &info) || !info.dli_fname) return "runt-init";
  std::string self = info.dli_fname;
  size_t slash = self.rfind('/');
  return (slash == std::string::npos ? std::string(".") : self.substr(0, slash)) + "/runt-init";
}

int InitFd(Napi::Env env) {
  std::lock_guard<std::mutex> lock(g_initMutex);
  if (g_initFd >= 0) return g_initFd;
  std::string path = InitPath();
  int src = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) ThrowErrno(env, ("open " + path).c_str(), errno);
  struct stat st;
  int mfd = -1;
  int err = 0;
  if (fstat(src, &st) < 0) {
    err = errno;
  } else if ((mfd = memfd_create("runt-init", MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0) {
    err = errno;
  } else {
    off_t off = 0;
    while (off < st.st_size) {
      ssize_t n = sendfile(mfd, src, &off, static_cast<size_t>(st.st_size - off));
      if (n <= 0) {
        err = n < 0 ? errno : EIO;
        break;
      }
    }
    if (!err && fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) err = errno;
  }
  close(src);
  if (err) {
    if (mfd >= 0) close(mfd);
    ThrowErrno(env, ("copy " + path).c_str(), err);
  }
  g_initFd = mfd;
  return g_initFd;
}

int PlanMemfd(Napi::Env env, const std::string& blob) {
  int fd = memfd_create("runt-plan", MFD_CLOEXEC);
  if (fd < 0) ThrowErrno(env, "memfd_create", errno);
  size_t off = 0;
  while (off < blob.size()) {
    ssize_t n = write(fd, blob.data() + off, blob.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(fd);
      ThrowErrno(env, "write plan", err);
    }
    off += static_cast<size_t>(n);
  }
  return fd;
}

// The fds that must survive the exec of runt-init: stdio, the preserved range, the sync socket,
// the plan, and every fd a step refers to.
std::vector<int> FdsToKeep(const Plan& plan, int sock, int planFd) {
  std::vector<int> keep = {0, 1, 2, sock, planFd};
  for (int i = 0; i < 3; i++)
    if (plan.stdio[i] >= 0) keep.push_back(plan.stdio[i]);
  for (int fd = 3; fd < plan.fdFloor; fd++) keep.push_back(fd);
  for (int fd : plan.cgroupTaskFds) keep.push_back(fd);
  for (const Step& s : plan.steps)
    if (const int* fd = StepFd(s)) keep.push_back(*fd);
  return keep;
}

constexpr size_t kTrampolineStack = 64 * 1024;

// One spawn, in three parts: Prepare (JS thread: the plan, the memfds, the socket pair), Launch
// (any thread: clone3 and the exec of runt-init; no N-API), Finish (JS thread: the result or the
// error, and the fds that are no longer needed).
struct SpawnJob {
  std::unique_ptr<Plan> plan;
  int initFd = -1;
  int planFd = -1;
  int sv[2] = {-1, -1};
  long pid = -1;
  int pidfd = -1;
  const char* failedCall = nullptr;
  int err = 0;
};

std::unique_ptr<SpawnJob> Prepare(const Napi::CallbackInfo& info, const char* usage) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, usage);
  auto job = std::make_unique<SpawnJob>();
  job->plan = std::make_unique<Plan>();
  BuildPlan(info[0].As<Napi::Object>(), *job->plan);
  job->initFd = InitFd(env);
  job->planFd = PlanMemfd(env, EncodePlan(*job->plan));
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, job->sv) < 0) {
    int err = errno;
    close(job->planFd);
    ThrowErrno(env, "socketpair", err);
  }
  return job;
}

void Launch(SpawnJob& job) {
  const Plan& plan = *job.plan;
  std::vector<int> keep = FdsToKeep(plan, job.sv[1], job.planFd);
  std::string sockArg = std::to_string(job.sv[1]);
  std::string planArg = std::to_string(job.planFd);
  char* argv[] = {const_cast<char*>("runt-init"), sockArg.data(), planArg.data(), nullptr};
  char* envp[] = {nullptr};
  Trampoline t = {job.initFd, keep.data(), keep.size(), argv, envp, 0};

  void* stack = nullptr;
  if (kSharedVm) {
    stack = mmap(nullptr, kTrampolineStack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) {
      job.failedCall = "mmap";
      job.err = errno;
      return;
    }
  }

  clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_PIDFD | plan.cloneFlags;
  if (kSharedVm) {
    args.flags |= CLONE_VM | CLONE_VFORK;
    args.stack = reinterpret_cast<uintptr_t>(stack);
    args.stack_size = kTrampolineStack;
  }
  args.pidfd = reinterpret_cast<uintptr_t>(&job.pidfd);
  args.exit_signal = SIGCHLD;
  if (plan.cgroupFd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(plan.cgroupFd);
  }

  // No signal handler of Node may run in the child; runt-init unblocks signals once it has reset
  // their dispositions.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  long pid = Clone3OnStack(&args, TrampolineMain, &t);
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);
  if (stack) munmap(stack, kTrampolineStack);

  if (pid < 0) {
    job.failedCall = "clone3";
    job.err = static_cast<int>(-pid);
  } else if (t.err) {  // the exec failed; the child has exited
    siginfo_t si;
    waitid(P_PIDFD, static_cast<id_t>(job.pidfd), &si, WEXITED);
    close(job.pidfd);
    job.pidfd = -1;
    job.failedCall = "execveat runt-init";
    job.err = t.err;
  } else {
    job.pid = pid;
  }
}

Napi::Object Finish(Napi::Env env, SpawnJob& job) {
  close(job.sv[1]);
  close(job.planFd);
  if (job.failedCall) {
    close(job.sv[0]);
    ThrowErrno(env, job.failedCall, job.err);
  }
  int flags = fcntl(job.sv[0], F_GETFL);
  if (flags >= 0) fcntl(job.sv[0], F_SETFL, flags | O_NONBLOCK);
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, static_cast<double>(job.pid)));
  result.Set("pidfd", Napi::Number::New(env, job.pidfd));
  result.Set("sock", Napi::Number::New(env, job.sv[0]));
  return result;
}

// clone3 blocks its thread while the kernel makes the namespaces and runt-init execs (about a
// millisecond or several): spawnAsync does that on the thread pool, so the event loop goes on.
class SpawnWorker : public Napi::AsyncWorker {
 public:
  SpawnWorker(Napi::Env env, std::unique_ptr<SpawnJob> job)
      : Napi::AsyncWorker(env, "runt.spawn"), job_(std::move(job)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override { Launch(*job_); }
  void OnOK() override {
    Napi::Env env = Env();
    try {
      deferred_.Resolve(Finish(env, *job_));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

 private:
  std::unique_ptr<SpawnJob> job_;
  Napi::Promise::Deferred deferred_;
};

}  // namespace

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  auto job = Prepare(info, "spawn(cfg: SpawnConfig)");
  Launch(*job);
  return Finish(info.Env(), *job);
}

Napi::Value SpawnAsync(const Napi::CallbackInfo& info) {
  auto job = Prepare(info, "spawnAsync(cfg: SpawnConfig)");
  auto* worker = new SpawnWorker(info.Env(), std::move(job));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace runt
