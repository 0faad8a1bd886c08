// Layout: BlobHeader | cgroup task fds (int32) | steps (raw Step structs) | data area.
// A pointer field holds 1 + its target's offset in the data area (0: null); a string array is an
// array of such offsets ending in 0. Both ends are the same build (runt-init is built next to the
// addon), checked with the magic and the Step size.
#include "plan_blob.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace runt {
namespace {

constexpr uint32_t kMagic = 0x52554e54;  // "RUNT"

struct BlobHeader {
  uint32_t magic;
  uint32_t stepSize;
  uint64_t cloneFlags;
  int32_t stdio[3];
  int32_t preserveFds;
  int32_t fdFloor;
  int32_t trace;
  int32_t pdeathSig;
  uint32_t taskFdCount;
  uint32_t stepCount;
  uint32_t pad;
  uint64_t dataLen;
};

constexpr size_t Align8(size_t n) { return (n + 7) & ~size_t{7}; }

// Calls the visitor on every pointer field of a step (the list mirrors ReadStep in plan.cc).
template <class V>
void VisitPointers(Step& s, V& v) {
  switch (s.op) {
    case Op::Setns: v.Str(s.setns.name); break;
    case Op::Mount:
      v.Str(s.mount.source);
      v.Str(s.mount.target);
      v.Str(s.mount.fstype);
      v.Str(s.mount.data);
      break;
    case Op::OpenRoot:
    case Op::Chdir:
    case Op::JoinKeyring: v.Str(s.path.path); break;
    case Op::Mask: v.Str(s.mask.path); break;
    case Op::Mkdir: v.Str(s.mkdir.path); break;
    case Op::Mknod: v.Str(s.mknod.path); break;
    case Op::Symlink:
      v.Str(s.symlink.target);
      v.Str(s.symlink.path);
      break;
    case Op::WriteProc:
      v.Str(s.writeProc.path);
      v.Str(s.writeProc.data);
      break;
    case Op::Sethostname:
    case Op::Setdomainname: v.Str(s.name.name); break;
    case Op::Ambient: v.Bytes(s.ambient.caps, s.ambient.count * sizeof(int)); break;
    case Op::Setgroups: v.Bytes(s.setgroups.gids, s.setgroups.count * sizeof(gid_t)); break;
    case Op::Hook:
      v.Str(s.hook.path);
      v.StrArray(s.hook.argv);
      v.StrArray(s.hook.envp);
      break;
    case Op::ResolveExec:
      v.Str(s.resolveExec.name);
      v.Str(s.resolveExec.searchPath);
      break;
    case Op::Seccomp: v.Bytes(s.seccomp.filter, s.seccomp.len * sizeof(sock_filter)); break;
    case Op::Exec:
      v.Str(s.exec.name);
      v.StrArray(s.exec.argv);
      v.StrArray(s.exec.envp);
      v.Str(s.exec.searchPath);
      break;
    case Op::Affinity:
    case Op::Mempolicy: v.Bytes(s.bits.words, s.bits.count * sizeof(uint64_t)); break;
    case Op::MountSetattr: v.Str(s.mountSetattr.target); break;
    case Op::MoveMount: v.Str(s.moveMount.target); break;
    case Op::NetDevice:
      v.Str(s.netDevice.name);
      v.Str(s.netDevice.newName);
      break;
    // No pointer fields. Listed rather than left to a default, so the compiler (-Wswitch) and
    // test/step-contract.test.ts notice an op added to the enum and forgotten here.
    case Op::Sync:
    case Op::Unshare:
    case Op::Fork:
    case Op::PivotRoot:
    case Op::MoveRoot:
    case Op::Chroot:
    case Op::Setrlimit:
    case Op::Prctl:
    case Op::CapBounding:
    case Op::Capset:
    case Op::Setresgid:
    case Op::Setresuid:
    case Op::Umask:
    case Op::Setsid:
    case Op::Terminal:
    case Op::Park:
    case Op::PrepareFds:
    case Op::Sched:
    case Op::Ioprio:
    case Op::Personality: break;
  }
}

class Encoder {
 public:
  std::string data;

  void Str(const char*& p) {
    if (p) p = reinterpret_cast<const char*>(Append(p, strlen(p) + 1));
  }
  void StrArray(char* const*& p) {
    if (!p) return;
    std::vector<uintptr_t> offsets;
    for (char* const* q = p; *q; q++) offsets.push_back(Append(*q, strlen(*q) + 1));
    offsets.push_back(0);
    p = reinterpret_cast<char* const*>(Append(offsets.data(), offsets.size() * sizeof(uintptr_t)));
  }
  template <class T>
  void Bytes(const T*& p, size_t n) {
    if (p) p = reinterpret_cast<const T*>(Append(p, n));
  }

 private:
  uintptr_t Append(const void* p, size_t n) {
    data.resize(Align8(data.size()));
    size_t off = data.size();
    data.append(static_cast<const char*>(p), n);
    return off + 1;
  }
};

class Decoder {
 public:
  Decoder(char* base, size_t len) : base_(base), len_(len) {}
  bool ok = true;

  void Str(const char*& p) { p = String(reinterpret_cast<uintptr_t>(p)); }
  void StrArray(char* const*& p) {
    uintptr_t off = reinterpret_cast<uintptr_t>(p);
    if (!off) return;
    for (size_t i = 0;; i++) {
      auto* slot = reinterpret_cast<uintptr_t*>(At(off + i * sizeof(uintptr_t), sizeof(uintptr_t)));
      if (!slot) return;
      if (*slot == 0) break;
      *slot = reinterpret_cast<uintptr_t>(String(*slot));
      if (!ok) return;
    }
    p = reinterpret_cast<char* const*>(At(off, sizeof(uintptr_t)));
  }
  template <class T>
  void Bytes(const T*& p, size_t n) {
    uintptr_t off = reinterpret_cast<uintptr_t>(p);
    if (off) p = reinterpret_cast<const T*>(At(off, n));
  }

 private:
  char* At(uintptr_t off, size_t n) {
    if (off == 0 || off - 1 > len_ || n > len_ - (off - 1)) {
      ok = false;
      return nullptr;
    }
    return base_ + (off - 1);
  }
  const char* String(uintptr_t off) {
    if (!off) return nullptr;
    char* s = At(off, 1);
    if (!s || !memchr(s, '\0', len_ - static_cast<size_t>(s - base_))) {
      ok = false;
      return nullptr;
    }
    return s;
  }

  char* base_;
  size_t len_;
};

}  // namespace

std::string EncodePlan(const Plan& plan) {
  std::vector<Step> steps(plan.steps);
  Encoder enc;
  for (Step& s : steps) VisitPointers(s, enc);

  BlobHeader h;
  memset(&h, 0, sizeof h);
  h.magic = kMagic;
  h.stepSize = sizeof(Step);
  h.cloneFlags = plan.cloneFlags;
  for (int i = 0; i < 3; i++) h.stdio[i] = plan.stdio[i];
  h.preserveFds = plan.preserveFds;
  h.fdFloor = plan.fdFloor;
  h.trace = plan.trace;
  h.pdeathSig = plan.pdeathSig;
  h.taskFdCount = static_cast<uint32_t>(plan.cgroupTaskFds.size());
  h.stepCount = static_cast<uint32_t>(steps.size());
  h.dataLen = enc.data.size();

  std::string blob(reinterpret_cast<const char*>(&h), sizeof h);
  for (int fd : plan.cgroupTaskFds) {
    int32_t v = fd;
    blob.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  blob.resize(Align8(blob.size()));
  blob.append(reinterpret_cast<const char*>(steps.data()), steps.size() * sizeof(Step));
  blob.resize(Align8(blob.size()));
  blob.append(enc.data);
  return blob;
}

bool DecodePlan(char* blob, size_t len, Plan& plan) {
  BlobHeader h;
  if (len < sizeof h) return false;
  memcpy(&h, blob, sizeof h);
  if (h.magic != kMagic || h.stepSize != sizeof(Step)) return false;
  size_t off = sizeof h;
  size_t fdsLen = size_t{h.taskFdCount} * sizeof(int32_t);
  size_t stepsOff = Align8(off + fdsLen);
  size_t stepsLen = size_t{h.stepCount} * sizeof(Step);
  size_t dataOff = Align8(stepsOff + stepsLen);
  if (h.taskFdCount > 1024 || h.stepCount > 100000 || dataOff > len || h.dataLen != len - dataOff) return false;

  plan.cloneFlags = h.cloneFlags;
  for (int i = 0; i < 3; i++) plan.stdio[i] = h.stdio[i];
  plan.preserveFds = h.preserveFds;
  plan.fdFloor = h.fdFloor;
  plan.trace = h.trace != 0;
  plan.pdeathSig = h.pdeathSig;
  plan.cgroupFd = -1;  // used by clone3 in the runtime only
  plan.cgroupTaskFds.resize(h.taskFdCount);
  for (uint32_t i = 0; i < h.taskFdCount; i++) {
    int32_t v;
    memcpy(&v, blob + off + i * sizeof v, sizeof v);
    plan.cgroupTaskFds[i] = v;
  }
  plan.steps.resize(h.stepCount);
  if (stepsLen) memcpy(plan.steps.data(), blob + stepsOff, stepsLen);

  Decoder dec(blob + dataOff, len - dataOff);
  for (Step& s : plan.steps) {
    VisitPointers(s, dec);
    if (!dec.ok) return false;
  }
  return true;
}

}  // namespace runt
