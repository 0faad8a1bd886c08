// sd_notify datagrams (NOTIFY_SOCKET): a unix datagram socket bound in the container's state
// directory that the container's process writes READY=1 to, and the send that relays it to the
// socket the runtime's own caller (systemd) gave. Node has no AF_UNIX datagram sockets.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "args.h"
#include "errors.h"
#include "exports.h"

namespace runt {
namespace {

// sun_path for `path`; an abstract address ("@name") becomes a leading NUL. Returns the length.
socklen_t UnixAddr(Napi::Env env, const std::string& path, sockaddr_un& addr) {
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) ThrowErrno(env, "unix socket address", ENAMETOOLONG);
  memcpy(addr.sun_path, path.c_str(), path.size());
  if (path[0] == '@') addr.sun_path[0] = '\0';
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '@' ? 0 : 1));
}

}  // namespace

// bindUnixDgram(path, mode): a non-blocking, close-on-exec datagram socket bound at path, the
// socket file chmod'ed to mode (the container's user must be able to write to it).
Napi::Value BindUnixDgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "bindUnixDgram");
  int mode = IntArg(info, 1, "bindUnixDgram");
  sockaddr_un addr;
  socklen_t len = UnixAddr(env, path, addr);
  int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (sock < 0) ThrowErrno(env, "socket", errno);
  if (bind(sock, reinterpret_cast<sockaddr*>(&addr), len) < 0 || (path[0] != '@' && chmod(path.c_str(), static_cast<mode_t>(mode)) < 0)) {
    int err = errno;
    close(sock);
    ThrowErrno(env, "bind", err);
  }
  return Napi::Number::New(env, sock);
}

// recvDgram(fd): the next datagram as a string, or null when none waits.
Napi::Value RecvDgram(const Napi::CallbackInfo& info) {
  int fd = IntArg(info, 0, "recvDgram");
  char buf[4096];
  ssize_t n;
  do n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return info.Env().Null();
    ThrowErrno(info.Env(), "recv", errno);
  }
  return Napi::String::New(info.Env(), buf, static_cast<size_t>(n));
}

// sendUnixDgram(path, data): one datagram to the socket at path (or "@abstract").
Napi::Value SendUnixDgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "sendUnixDgram");
  std::string data = StringArg(info, 1, "sendUnixDgram");
  sockaddr_un addr;
  socklen_t len = UnixAddr(env, path, addr);
  int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) ThrowErrno(env, "socket", errno);
  ssize_t n;
  do n = sendto(sock, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&addr), len);
  while (n < 0 && errno == EINTR);
  int err = errno;
  close(sock);
  if (n < 0) ThrowErrno(env, "sendto", err);
  return env.Undefined();
}

}  // namespace runt
