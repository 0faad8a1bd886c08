// File-system primitives Node lacks, for unpacking image layers: device nodes (and overlayfs
// whiteouts, which are 0:0 character devices) and extended attributes as bytes. None follows a
// symlink in the last component; the caller (src/image/unpack.ts) has resolved the parents inside
// the root.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <cerrno>
#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "exports.h"

namespace runt {

Napi::Value Mknod(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "mknod");
  int mode = IntArg(info, 1, "mknod");
  int major = IntArg(info, 2, "mknod");
  int minor = IntArg(info, 3, "mknod");
  if (mknod(path.c_str(), static_cast<mode_t>(mode), makedev(major, minor)) < 0) ThrowErrno(info.Env(), "mknod", errno);
  return info.Env().Undefined();
}

Napi::Value Lsetxattr(const Napi::CallbackInfo& info) {
  std::string path = StringArg(info, 0, "lsetxattr");
  std::string name = StringArg(info, 1, "lsetxattr");
  if (!info[2].IsBuffer()) throw Napi::TypeError::New(info.Env(), "lsetxattr: value must be a Buffer");
  auto value = info[2].As<Napi::Buffer<uint8_t>>();
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), 0) < 0) ThrowErrno(info.Env(), "lsetxattr", errno);
  return info.Env().Undefined();
}

Napi::Value Llistxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "llistxattr");
  std::vector<char> buf(4096);
  ssize_t n;
  for (;;) {
    n = llistxattr(path.c_str(), buf.data(), buf.size());
    if (n >= 0) break;
    if (errno == ERANGE && buf.size() < (1u << 20)) { buf.resize(buf.size() * 4); continue; }
    if (errno == ENOTSUP) { n = 0; break; }
    ThrowErrno(env, "llistxattr", errno);
  }
  Napi::Array out = Napi::Array::New(env);
  uint32_t k = 0;
  for (ssize_t i = 0; i < n;) {
    std::string name(buf.data() + i);
    i += static_cast<ssize_t>(name.size()) + 1;
    if (!name.empty()) out.Set(k++, Napi::String::New(env, name));
  }
  return out;
}

Napi::Value Lgetxattr(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "lgetxattr");
  std::string name = StringArg(info, 1, "lgetxattr");
  std::vector<uint8_t> buf(4096);
  ssize_t n;
  for (;;) {
    n = lgetxattr(path.c_str(), name.c_str(), buf.data(), buf.size());
    if (n >= 0) break;
    if (errno == ERANGE && buf.size() < (1u << 20)) { buf.resize(buf.size() * 4); continue; }
    if (errno == ENODATA) return env.Null();
    ThrowErrno(env, "lgetxattr", errno);
  }
  return Napi::Buffer<uint8_t>::Copy(env, buf.data(), static_cast<size_t>(n));
}

}  // namespace runt
