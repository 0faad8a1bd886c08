// openProcFile(rel, flags) for the runtime side: the files it writes under /proc/<pid>/ (uid_map,
// gid_map, oom_score_adj, timens_offsets) are opened beneath a procfs nothing is mounted over
// (procfs.h), never by path through /proc.
#include <fcntl.h>

#include <cerrno>
#include <string>

#include "args.h"
#include "errors.h"
#include "exports.h"
#include "procfs.h"

namespace runt {

namespace {
int g_procRoot = -1;  // opened once per process, close-on-exec
}

Napi::Value OpenProcFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string rel = StringArg(info, 0, "openProcFile");
  int flags = IntArg(info, 1, "openProcFile");
  if (rel.empty() || rel[0] == '/' || rel.find('\0') != std::string::npos) {
    throw Napi::TypeError::New(env, "openProcFile: the path must be relative to /proc");
  }
  if (g_procRoot < 0) {
    g_procRoot = procfs::OpenRoot();
    if (g_procRoot < 0) ThrowErrno(env, "open a procfs root", errno);
  }
  int fd = procfs::OpenBeneath(g_procRoot, rel.c_str(), flags);
  if (fd < 0) ThrowErrno(env, ("open /proc/" + rel).c_str(), errno);
  return Napi::Number::New(env, fd);
}

}  // namespace runt
