// SCM_RIGHTS plumbing: sendFd() hands an fd to an OCI console socket; listenUnix(), acceptUnix()
// and recvFd() are the receiving side (a console socket server).
#include "fdpass.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "args.h"
#include "errors.h"
#include "exports.h"

namespace runt {

// sendFd(socketPath, fd, name): connect SOCK_STREAM and send `name` with fd attached.
Napi::Value SendFdToSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsNumber() || !info[2].IsString())
    throw Napi::TypeError::New(env, "sendFd(socketPath: string, fd: number, name: string)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  std::string name = info[2].As<Napi::String>().Utf8Value();

  sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) ThrowErrno(env, "connect", ENAMETOOLONG);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) ThrowErrno(env, "socket", errno);
  int rc;
  do rc = connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    int err = errno;
    close(sock);
    ThrowErrno(env, "connect", err);
  }
  // A stream socket needs at least one data byte to carry ancillary data. The fd goes with the
  // first sendmsg; a long payload (a seccomp agent's container state) may take more than one.
  if (name.empty()) name.push_back('\0');
  size_t done = 0;
  while (done < name.size()) {
    ssize_t n = SendWithFd(sock, name.data() + done, name.size() - done, done == 0 ? fd : -1);
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(sock);
      ThrowErrno(env, "sendmsg", err);
    }
    done += static_cast<size_t>(n);
  }
  close(sock);
  return env.Undefined();
}

// listenUnix(path): a listening SOCK_STREAM unix socket (non-blocking, close-on-exec) at path (which
// must not exist). The receiving end of an OCI console socket.
Napi::Value ListenUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "listenUnix");
  sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) ThrowErrno(env, "bind", ENAMETOOLONG);
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (sock < 0) ThrowErrno(env, "socket", errno);
  if (bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || listen(sock, 16) < 0) {
    int err = errno;
    close(sock);
    ThrowErrno(env, "listen", err);
  }
  return Napi::Number::New(env, sock);
}

// acceptUnix(listenFd): the next connection (non-blocking, close-on-exec), or -1 when none waits.
Napi::Value AcceptUnix(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "acceptUnix");
  int conn;
  do conn = accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  while (conn < 0 && errno == EINTR);
  if (conn < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(info.Env(), -1);
    ThrowErrno(info.Env(), "accept4", errno);
  }
  return Napi::Number::New(info.Env(), conn);
}

// recvFd(sock): one message without waiting: {data, fd} (fd -1 when none came; data "" and fd -1
// at end of file), or null when nothing is waiting.
Napi::Value RecvFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = IntArg(info, 0, "recvFd");
  char buf[4096];
  int fd = -1;
  ssize_t n = RecvWithFd(sock, buf, sizeof buf, &fd, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowErrno(env, "recvmsg", errno);
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("data", Napi::String::New(env, buf, static_cast<size_t>(n)));
  out.Set("fd", Napi::Number::New(env, fd));
  return out;
}

}  // namespace runt
