// The runtime's end of the sync socket: receive the child's messages, answer sync points.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "args.h"
#include "errors.h"
#include "exports.h"
#include "fdpass.h"
#include "protocol.h"

namespace runt {
namespace {

Napi::Object MessageObject(Napi::Env env, const ChildMsg& m, int fd) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", Napi::Number::New(env, m.type));
  o.Set("step", Napi::Number::New(env, m.step));
  o.Set("errno", Napi::Number::New(env, m.err));
  o.Set("pid", Napi::Number::New(env, m.pid));
  o.Set("usec", Napi::Number::New(env, static_cast<double>(m.usec)));
  o.Set("text", Napi::String::New(env, m.text, strnlen(m.text, sizeof m.text)));
  o.Set("fd", Napi::Number::New(env, fd));
  return o;
}

void SendToChild(const Napi::CallbackInfo& info, uint32_t type, const std::string& payload) {
  int sock = IntArg(info, 0, type == MSG_ACK ? "ack" : "abort");
  ParentMsg head = {type, static_cast<uint32_t>(payload.size())};
  if (SendWithFd2(sock, &head, sizeof head, payload.data(), payload.size(), -1) < 0)
    ThrowErrno(info.Env(), "sendmsg", errno);
}

}  // namespace

Napi::Value Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = IntArg(info, 0, "recv");
  ChildMsg m;
  memset(&m, 0, sizeof m);
  int fd = -1;
  ssize_t n = RecvWithFd(sock, &m, sizeof m, &fd, MSG_DONTWAIT);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    if (errno != ECONNRESET) ThrowErrno(env, "recvmsg", errno);
    n = 0;
  }
  if (n == 0) {
    memset(&m, 0, sizeof m);
    m.type = MSG_EOF;
  } else if (static_cast<size_t>(n) != sizeof m) {
    if (fd >= 0) close(fd);
    ThrowErrno(env, "recvmsg", EPROTO);
  }
  m.text[sizeof m.text - 1] = '\0';
  return MessageObject(env, m, fd);
}

Napi::Value Ack(const Napi::CallbackInfo& info) {
  std::string payload;
  if (info.Length() > 1 && !info[1].IsUndefined() && !info[1].IsNull()) payload = StringArg(info, 1, "ack");
  if (payload.size() > kPayloadMax)
    throw Napi::RangeError::New(info.Env(), "ack: payload larger than " + std::to_string(kPayloadMax) + " bytes");
  SendToChild(info, MSG_ACK, payload);
  return info.Env().Undefined();
}

Napi::Value Abort(const Napi::CallbackInfo& info) {
  SendToChild(info, MSG_ABORT, std::string());
  return info.Env().Undefined();
}

}  // namespace runt
