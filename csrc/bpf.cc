// The cgroup v2 device filter: load a BPF_PROG_TYPE_CGROUP_DEVICE program and make it the only one
// attached to a cgroup, through raw bpf(2) calls (no libbpf). The program itself is generated in
// TypeScript (src/cgroups/devices-bpf.ts).
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "args.h"
#include "errors.h"
#include "exports.h"

namespace runt {

namespace {

long Bpf(int cmd, bpf_attr* attr) {
  long rc;
  do rc = syscall(SYS_bpf, cmd, attr, sizeof(*attr));
  while (rc < 0 && errno == EINTR);
  return rc;
}

// Closes an fd at scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

struct Attached {
  std::vector<uint32_t> ids;
  uint32_t flags = 0;  // the cgroup's attach mode for BPF_CGROUP_DEVICE (BPF_F_ALLOW_MULTI, ...)
};

// The BPF_CGROUP_DEVICE programs attached to the cgroup itself (not inherited ones).
Attached QueryDevicePrograms(Napi::Env env, int cgroupFd) {
  std::vector<uint32_t> ids(8);
  for (;;) {
    bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = static_cast<uint32_t>(cgroupFd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    long rc = Bpf(BPF_PROG_QUERY, &attr);
    // ENOSPC: more programs than room; prog_cnt now holds the real count.
    if (rc < 0 && errno == ENOSPC && attr.query.prog_cnt > ids.size()) {
      ids.resize(attr.query.prog_cnt);
      continue;
    }
    if (rc < 0) ThrowErrno(env, "bpf(BPF_PROG_QUERY)", errno);
    ids.resize(attr.query.prog_cnt);
    return Attached{ids, attr.query.attach_flags};
  }
}

Fd LoadDeviceProgram(Napi::Env env, const uint8_t* insns, size_t len, const std::string& license) {
  if (len == 0 || len % sizeof(bpf_insn) != 0) {
    throw Napi::TypeError::New(env, "attachDeviceFilter: insns must be a non-empty array of 8-byte struct bpf_insn");
  }
  // The kernel reads the instructions as struct bpf_insn: copy into aligned storage.
  std::vector<bpf_insn> prog(len / sizeof(bpf_insn));
  memcpy(prog.data(), insns, len);
  std::vector<char> log(16384);
  bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insn_cnt = static_cast<uint32_t>(prog.size());
  attr.insns = reinterpret_cast<uintptr_t>(prog.data());
  attr.license = reinterpret_cast<uintptr_t>(license.c_str());
  long fd = Bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return Fd(static_cast<int>(fd));
  int err = errno;
  // Load again with the verifier log only on failure: it costs time and names the bad instruction.
  attr.log_buf = reinterpret_cast<uintptr_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  long again = Bpf(BPF_PROG_LOAD, &attr);
  if (again >= 0) return Fd(static_cast<int>(again));
  Napi::Error e = ErrnoError(env, "bpf(BPF_PROG_LOAD)", err);
  std::string text(log.data(), strnlen(log.data(), log.size()));
  if (!text.empty()) e.Set("verifierLog", Napi::String::New(env, text));
  throw e;
}

}  // namespace

Napi::Value AttachDeviceFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int cgroupFd = IntArg(info, 0, "attachDeviceFilter");
  if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(env, "attachDeviceFilter: argument 2 must be a Uint8Array");
  }
  Napi::Uint8Array insns = info[1].As<Napi::Uint8Array>();
  std::string license = StringArg(info, 2, "attachDeviceFilter");

  Attached old = QueryDevicePrograms(env, cgroupFd);
  Fd prog = LoadDeviceProgram(env, insns.Data(), insns.ByteLength(), license);

  // A cgroup whose program someone attached without BPF_F_ALLOW_MULTI refuses a multi attach
  // (EPERM); attaching in its own mode replaces that single program in one step.
  bool single = !old.ids.empty() && !(old.flags & BPF_F_ALLOW_MULTI);
  bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = static_cast<uint32_t>(cgroupFd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.fd);
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = single ? old.flags : BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &attr) < 0) ThrowErrno(env, "bpf(BPF_PROG_ATTACH)", errno);
  if (single) return env.Undefined();

  // The new filter is in place before the old ones go, so no access slips through in between.
  // Programs run in sequence and all must allow, so a stale one left behind would still deny.
  for (uint32_t id : old.ids) {
    memset(&attr, 0, sizeof(attr));
    attr.prog_id = id;
    long oldFd = Bpf(BPF_PROG_GET_FD_BY_ID, &attr);
    if (oldFd < 0) {
      if (errno == ENOENT) continue;  // released meanwhile
      ThrowErrno(env, "bpf(BPF_PROG_GET_FD_BY_ID)", errno);
    }
    Fd stale(static_cast<int>(oldFd));
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = static_cast<uint32_t>(cgroupFd);
    attr.attach_bpf_fd = static_cast<uint32_t>(stale.fd);
    attr.attach_type = BPF_CGROUP_DEVICE;
    if (Bpf(BPF_PROG_DETACH, &attr) < 0 && errno != ENOENT) ThrowErrno(env, "bpf(BPF_PROG_DETACH)", errno);
  }
  return env.Undefined();
}

Napi::Value QueryDeviceFilters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int cgroupFd = IntArg(info, 0, "queryDeviceFilters");
  return Napi::Number::New(env, static_cast<double>(QueryDevicePrograms(env, cgroupFd).ids.size()));
}

}  // namespace runt
