// spawn(): build the plan, make the sync socket, clone3 the child and return at once.
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "child.h"
#include "errors.h"
#include "exports.h"
#include "plan.h"

namespace runt {

Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throw Napi::TypeError::New(env, "spawn(cfg: SpawnConfig)");
  auto plan = std::make_unique<Plan>();
  BuildPlan(info[0].As<Napi::Object>(), *plan);

  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) ThrowErrno(env, "socketpair", errno);

  clone_args args;
  memset(&args, 0, sizeof args);
  int pidfd = -1;
  args.flags = CLONE_PIDFD | plan->cloneFlags;
  args.pidfd = reinterpret_cast<uintptr_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (plan->cgroupFd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(plan->cgroupFd);
  }

  // No signal handler of Node may run in the child before it has reset them all.
  sigset_t all, saved;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &saved);
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) RunChild(*plan, sv[1]);
  int err = errno;
  pthread_sigmask(SIG_SETMASK, &saved, nullptr);

  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    ThrowErrno(env, "clone3", err);
  }
  int flags = fcntl(sv[0], F_GETFL);
  if (flags >= 0) fcntl(sv[0], F_SETFL, flags | O_NONBLOCK);

  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, static_cast<double>(pid)));
  result.Set("pidfd", Napi::Number::New(env, pidfd));
  result.Set("sock", Napi::Number::New(env, sv[0]));
  return result;
}

}  // namespace runt
