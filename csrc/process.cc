// Small process and fd primitives for the runtime side: pidfds, waiting, locks, fifos, terminal size and mode.
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "args.h"
#include "errors.h"
#include "exports.h"

namespace runt {

Napi::Value WaitPidfd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pidfd = IntArg(info, 0, "waitPidfd");
  siginfo_t si = {};
  int rc;
  do rc = waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &si, WEXITED | WNOHANG);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) ThrowErrno(env, "waitid", errno);
  if (si.si_pid == 0) return env.Null();
  Napi::Object status = Napi::Object::New(env);
  bool signaled = si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED;
  status.Set("code", signaled ? env.Null() : Napi::Value(Napi::Number::New(env, si.si_status)));
  status.Set("signal", signaled ? Napi::Value(Napi::Number::New(env, si.si_status)) : env.Null());
  return status;
}

Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  int pid = IntArg(info, 0, "pidfdOpen");
  long fd = syscall(SYS_pidfd_open, pid, 0);  // pidfds are always close-on-exec
  if (fd < 0) ThrowErrno(info.Env(), "pidfd_open", errno);
  return Napi::Number::New(info.Env(), static_cast<double>(fd));
}

Napi::Value PidfdSendSignal(const Napi::CallbackInfo& info) {
  int pidfd = IntArg(info, 0, "pidfdSendSignal");
  int sig = IntArg(info, 1, "pidfdSendSignal");
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0) ThrowErrno(info.Env(), "pidfd_send_signal", errno);
  return info.Env().Undefined();
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "close");
  // Linux releases the fd even when close fails with EINTR: never retry.
  if (close(fd) < 0 && errno != EINTR) ThrowErrno(info.Env(), "close", errno);
  return info.Env().Undefined();
}

Napi::Value Eventfd(const Napi::CallbackInfo& info) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) ThrowErrno(info.Env(), "eventfd", errno);
  return Napi::Number::New(info.Env(), fd);
}

Napi::Value Pipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) ThrowErrno(env, "pipe2", errno);
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Napi::Number::New(env, fds[0]));
  result.Set(1u, Napi::Number::New(env, fds[1]));
  return result;
}

Napi::Value Mkfifo(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "mkfifo");
  int mode = IntArg(info, 1, "mkfifo");
  if (mkfifo(path.c_str(), static_cast<mode_t>(mode)) < 0) ThrowErrno(info.Env(), "mkfifo", errno);
  return info.Env().Undefined();
}

Napi::Value Flock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "flock");
  bool wait = info[1].ToBoolean().Value();
  bool shared = info.Length() > 2 && info[2].ToBoolean().Value();
  int rc;
  do rc = flock(fd, (shared ? LOCK_SH : LOCK_EX) | (wait ? 0 : LOCK_NB));
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    if (errno == EWOULDBLOCK && !wait) return Napi::Boolean::New(env, false);
    ThrowErrno(env, "flock", errno);
  }
  return Napi::Boolean::New(env, true);
}

Napi::Value SetSubreaper(const Napi::CallbackInfo& info) {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) ThrowErrno(info.Env(), "prctl", errno);
  return info.Env().Undefined();
}

Napi::Value SetBlocking(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "setBlocking");
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) ThrowErrno(info.Env(), "fcntl", errno);
  if ((flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) ThrowErrno(info.Env(), "fcntl", errno);
  return info.Env().Undefined();
}

// detachStdio(): point fds 0-2 at /dev/null. A runtime that exits while its container keeps the
// stdio it was given must not let Node's exit path restore its own saved file flags (O_NONBLOCK)
// on files it now shares with the container.
Napi::Value DetachStdio(const Napi::CallbackInfo& info) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) ThrowErrno(info.Env(), "open /dev/null", errno);
  for (int fd = 0; fd < 3; fd++) dup2(null, fd);
  close(null);
  return info.Env().Undefined();
}

// setWinsize(fd, rows, cols): TIOCSWINSZ on a terminal (the pty master of a proxied container).
Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "setWinsize");
  winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(IntArg(info, 1, "setWinsize"));
  ws.ws_col = static_cast<unsigned short>(IntArg(info, 2, "setWinsize"));
  if (ioctl(fd, TIOCSWINSZ, &ws) < 0) ThrowErrno(info.Env(), "ioctl TIOCSWINSZ", errno);
  return info.Env().Undefined();
}

// makeRaw(fd): put a terminal in raw mode as cfmakeraw(3) does (output processing off too, unlike
// libuv's raw mode, so a container's "\r\n" is not turned into "\r\r\n"). Returns the previous
// settings for restoreTerminal.
Napi::Value MakeRaw(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "makeRaw");
  termios saved;
  if (tcgetattr(fd, &saved) < 0) ThrowErrno(env, "tcgetattr", errno);
  termios raw = saved;
  cfmakeraw(&raw);
  if (tcsetattr(fd, TCSADRAIN, &raw) < 0) ThrowErrno(env, "tcsetattr", errno);
  return Napi::Buffer<char>::Copy(env, reinterpret_cast<const char*>(&saved), sizeof saved);
}

// restoreTerminal(fd, saved): the settings makeRaw returned.
Napi::Value RestoreTerminal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "restoreTerminal");
  if (!info[1].IsBuffer() || info[1].As<Napi::Buffer<char>>().Length() != sizeof(termios))
    throw Napi::TypeError::New(env, "restoreTerminal(fd, saved): saved must come from makeRaw");
  termios saved;
  memcpy(&saved, info[1].As<Napi::Buffer<char>>().Data(), sizeof saved);
  if (tcsetattr(fd, TCSADRAIN, &saved) < 0) ThrowErrno(env, "tcsetattr", errno);
  return env.Undefined();
}

}  // namespace runt
