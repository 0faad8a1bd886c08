// A NETLINK_ROUTE socket in the runtime's network namespace, for runt-init's netDevice steps (a
// socket keeps the namespace it was made in, so the init can move devices out of this one).
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cerrno>

#include "errors.h"
#include "exports.h"

namespace runt {

Napi::Value NetlinkSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) ThrowErrno(env, "socket(AF_NETLINK)", errno);
  return Napi::Number::New(env, fd);
}

}  // namespace runt
