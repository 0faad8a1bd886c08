// mount(2) and umount2(2) for the runtime side: the shim mounts the rootfs containerd's snapshotter
// hands it into the bundle (a container's own mounts are steps that runt-init carries out).
#include <sys/mount.h>

#include <cerrno>
#include <string>

#include "args.h"
#include "errors.h"
#include "exports.h"

namespace runt {

// mount(source, target, fstype, flags, data): fstype and data may be "" (passed as NULL).
Napi::Value Mount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string source = StringArg(info, 0, "mount");
  std::string target = StringArg(info, 1, "mount");
  std::string fstype = StringArg(info, 2, "mount");
  double flags = info[3].As<Napi::Number>().DoubleValue();
  std::string data = StringArg(info, 4, "mount");
  if (mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(),
            static_cast<unsigned long>(flags), data.empty() ? nullptr : data.c_str()) < 0) {
    ThrowErrno(env, "mount", errno);
  }
  return env.Undefined();
}

Napi::Value Umount2(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string target = StringArg(info, 0, "umount2");
  int flags = IntArg(info, 1, "umount2");
  if (umount2(target.c_str(), flags) < 0) ThrowErrno(env, "umount2", errno);
  return env.Undefined();
}

}  // namespace runt
