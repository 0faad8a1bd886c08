// JS SpawnConfig → Plan. All validation happens here, in the parent, so that the child only has
// to execute.
#include "plan_build.h"

#include <sched.h>
#include <sys/mount.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "protocol.h"

namespace runt {
namespace {

class Reader {
 public:
  Reader(Napi::Env env, Plan& plan, std::string where) : env_(env), plan_(plan), where_(std::move(where)) {}

  [[noreturn]] void Fail(const std::string& what) const {
    throw Napi::TypeError::New(env_, where_ + ": " + what);
  }

  void Bind(const Napi::Object& obj) { obj_ = obj; }

  bool Has(const char* key) const {
    Napi::Value v = obj_.Get(key);
    return !v.IsUndefined() && !v.IsNull();
  }

  int64_t Int(const char* key) const { return IntValue(obj_.Get(key), key); }

  int64_t IntOr(const char* key, int64_t fallback) const { return Has(key) ? Int(key) : fallback; }

  bool Bool(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (v.IsUndefined() || v.IsNull()) return false;
    if (!v.IsBoolean()) Fail(std::string("'") + key + "' must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }

  // A string copied into the plan; null when `nullable` and the value is null/undefined.
  const char* Str(const char* key, bool nullable = false, size_t* len = nullptr) const {
    Napi::Value v = obj_.Get(key);
    if (nullable && (v.IsUndefined() || v.IsNull())) return nullptr;
    return StrValue(v, key, len);
  }

  char* const* StrArray(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsArray()) Fail(std::string("'") + key + "' must be an array of strings");
    Napi::Array arr = v.As<Napi::Array>();
    std::vector<char*> out;
    out.reserve(arr.Length() + 1);
    for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(const_cast<char*>(StrValue(arr.Get(i), key)));
    out.push_back(nullptr);
    plan_.stringArrays.push_back(std::move(out));
    return plan_.stringArrays.back().data();
  }

  std::vector<int64_t> IntArray(const char* key) const {
    Napi::Value v = obj_.Get(key);
    if (!v.IsArray()) Fail(std::string("'") + key + "' must be an array of integers");
    Napi::Array arr = v.As<Napi::Array>();
    std::vector<int64_t> out;
    for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(IntValue(arr.Get(i), key));
    return out;
  }

  uint64_t CapMask(const char* key) const {
    uint64_t mask = 0;
    for (int64_t cap : IntArray(key)) {
      if (cap < 0 || cap > 63) Fail(std::string("'") + key + "' has an invalid capability number");
      mask |= uint64_t{1} << cap;
    }
    return mask;
  }

  int Fd(const char* key) const {
    int64_t fd = Int(key);
    if (fd < 0 || fd > INT32_MAX) Fail(std::string("'") + key + "' must be a file descriptor");
    return static_cast<int>(fd);
  }

  int Slot(const char* key, bool allowNone) const {
    int64_t slot = Int(key);
    if ((slot == -1 && allowNone) || (slot >= 0 && slot < kPayloadSlots)) return static_cast<int>(slot);
    Fail(std::string("'") + key + "' must be a payload slot 0.." + std::to_string(kPayloadSlots - 1));
  }

 private:
  int64_t IntValue(Napi::Value v, const char* key) const {
    if (!v.IsNumber()) Fail(std::string("'") + key + "' must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > 9007199254740991.0)
      Fail(std::string("'") + key + "' must be an integer");
    return static_cast<int64_t>(d);
  }

  const char* StrValue(Napi::Value v, const char* key, size_t* len = nullptr) const {
    if (!v.IsString()) Fail(std::string("'") + key + "' must be a string");
    std::string s = v.As<Napi::String>().Utf8Value();
    if (s.find('\0') != std::string::npos) Fail(std::string("'") + key + "' contains a NUL byte");
    if (len) *len = s.size();
    plan_.strings.push_back(std::move(s));
    return plan_.strings.back().c_str();
  }

  Napi::Env env_;
  Plan& plan_;
  std::string where_;
  Napi::Object obj_;
};

const std::unordered_map<std::string, Op>& OpNames() {
  static const std::unordered_map<std::string, Op> names = {
      {"sync", Op::Sync}, {"setns", Op::Setns}, {"unshare", Op::Unshare}, {"fork", Op::Fork},
      {"mount", Op::Mount}, {"openRoot", Op::OpenRoot}, {"pivotRoot", Op::PivotRoot},
      {"moveRoot", Op::MoveRoot}, {"mask", Op::Mask}, {"mknod", Op::Mknod}, {"symlink", Op::Symlink},
      {"writeProc", Op::WriteProc}, {"sethostname", Op::Sethostname},
      {"setdomainname", Op::Setdomainname}, {"setrlimit", Op::Setrlimit}, {"prctl", Op::Prctl},
      {"capBounding", Op::CapBounding}, {"capset", Op::Capset}, {"ambient", Op::Ambient},
      {"setgroups", Op::Setgroups}, {"setresgid", Op::Setresgid}, {"setresuid", Op::Setresuid},
      {"umask", Op::Umask}, {"chdir", Op::Chdir}, {"setsid", Op::Setsid}, {"terminal", Op::Terminal},
      {"hook", Op::Hook}, {"resolveExec", Op::ResolveExec}, {"park", Op::Park},
      {"seccomp", Op::Seccomp}, {"exec", Op::Exec}, {"joinKeyring", Op::JoinKeyring}, {"mkdir", Op::Mkdir},
      {"prepareFds", Op::PrepareFds},
      {"sched", Op::Sched}, {"ioprio", Op::Ioprio}, {"affinity", Op::Affinity}, {"personality", Op::Personality},
      {"mempolicy", Op::Mempolicy}, {"mountSetattr", Op::MountSetattr}, {"chroot", Op::Chroot},
      {"moveMount", Op::MoveMount}, {"netDevice", Op::NetDevice},
  };
  return names;
}

// Only namespace flags may come from JS for clone3/unshare: spawn.cc adds CLONE_VM|CLONE_VFORK
// itself, and anything else (CLONE_THREAD, CLONE_FILES, ...) would break the exec of runt-init.
constexpr uint64_t kNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                     CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWTIME;

uint64_t NamespaceFlags(const Reader& r, const char* key) {
  int64_t v = r.Int(key);
  if (v < 0 || (static_cast<uint64_t>(v) & ~kNamespaceFlags)) r.Fail(std::string("'") + key + "' may only hold CLONE_NEW* flags");
  return static_cast<uint64_t>(v);
}

uint64_t RlimitValue(const Reader& r, const char* key) {
  int64_t v = r.Int(key);
  if (v == -1) return ~uint64_t{0};  // RLIM64_INFINITY
  if (v < 0) r.Fail(std::string("'") + key + "' must be -1 or a non-negative integer");
  return static_cast<uint64_t>(v);
}

MkdirMode ReadMkdir(const Reader& r) {
  const char* mkdir = r.Str("mkdir");
  if (!strcmp(mkdir, "none")) return MkdirMode::None;
  if (!strcmp(mkdir, "dir")) return MkdirMode::Dir;
  if (!strcmp(mkdir, "file")) return MkdirMode::File;
  r.Fail("'mkdir' must be 'none', 'dir' or 'file'");
}

void ReadMount(const Reader& r, MountArgs& m) {
  m.source = r.Str("source", true);
  m.target = r.Str("target");
  m.fstype = r.Str("fstype", true);
  m.data = r.Str("data", true);
  m.flags = static_cast<unsigned long>(r.Int("flags"));
  m.targetInRoot = r.Bool("targetInRoot");
  m.sourceInRoot = r.Bool("sourceInRoot");
  m.optional = r.Bool("optional");
  m.keepFlags = r.Bool("keepFlags");
  m.mkdir = ReadMkdir(r);
  m.mode = static_cast<mode_t>(r.IntOr("mode", 0755)) & 07777;
  m.hasExpectFs = r.Has("expectFs");
  m.expectFs = m.hasExpectFs ? r.Int("expectFs") : 0;
  if (m.sourceInRoot && !m.source) r.Fail("'sourceInRoot' needs a source");
  m.copyUp = r.Bool("copyUp");
  if (m.copyUp && (!m.targetInRoot || (m.flags & (MS_RDONLY | MS_REMOUNT)))) {
    r.Fail("'copyUp' needs a new writable mount on a target in root");
  }
}

// A list of CPU or node numbers → a bitmask of 64-bit words (at least one word).
void ReadBits(const Reader& r, Plan& plan, const char* key, BitsArgs& b) {
  std::vector<uint64_t> words(1, 0);
  for (int64_t n : r.IntArray(key)) {
    if (n < 0 || n >= 8192) r.Fail(std::string("'") + key + "' holds a number outside 0..8191");
    size_t w = static_cast<size_t>(n) / 64;
    if (words.size() <= w) words.resize(w + 1, 0);
    words[w] |= uint64_t{1} << (n % 64);
  }
  plan.bitArrays.push_back(std::move(words));
  b.words = plan.bitArrays.back().data();
  b.count = plan.bitArrays.back().size();
}

uint64_t Unsigned(const Reader& r, const char* key) {
  int64_t v = r.IntOr(key, 0);
  if (v < 0) r.Fail(std::string("'") + key + "' must be a non-negative integer");
  return static_cast<uint64_t>(v);
}

void ReadSeccomp(const Reader& r, Plan& plan, const Napi::Object& obj, SeccompArgs& s) {
  Napi::Value v = obj.Get("filter");
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    r.Fail("'filter' must be a Uint8Array");
  Napi::Uint8Array bytes = v.As<Napi::Uint8Array>();
  size_t n = bytes.ByteLength();
  if (n == 0 || n % sizeof(sock_filter) != 0 || n / sizeof(sock_filter) > BPF_MAXINSNS)
    r.Fail("'filter' is not a BPF program");
  std::vector<sock_filter> prog(n / sizeof(sock_filter));
  memcpy(prog.data(), bytes.Data(), n);
  plan.filters.push_back(std::move(prog));
  s.filter = plan.filters.back().data();
  s.len = static_cast<unsigned short>(plan.filters.back().size());
  s.flags = static_cast<unsigned>(r.Int("flags"));
}

Step ReadStep(Napi::Env env, Plan& plan, const Napi::Object& obj, size_t index) {
  Reader r(env, plan, "steps[" + std::to_string(index) + "]");
  r.Bind(obj);
  Napi::Value opValue = obj.Get("op");
  if (!opValue.IsString()) r.Fail("'op' must be a string");
  std::string opName = opValue.As<Napi::String>().Utf8Value();
  auto found = OpNames().find(opName);
  if (found == OpNames().end()) r.Fail("unknown op '" + opName + "'");

  Step s;
  memset(&s, 0, sizeof s);
  s.op = found->second;
  switch (s.op) {
    case Op::Sync:
      s.sync.tag = static_cast<int>(r.Int("tag"));
      s.sync.slot = r.Has("slot") ? r.Slot("slot", false) : -1;
      break;
    case Op::Setns:
      s.setns.fd = r.Fd("fd");
      s.setns.nstype = static_cast<int>(r.Int("nstype"));
      s.setns.name = r.Str("name");
      break;
    case Op::Unshare: s.unshare.flags = static_cast<int>(NamespaceFlags(r, "flags")); break;
    case Op::Fork: s.fork.flags = NamespaceFlags(r, "flags"); break;
    case Op::Mount: ReadMount(r, s.mount); break;
    case Op::OpenRoot:
    case Op::Chdir: s.path.path = r.Str("path"); break;
    case Op::Mask:
      s.mask.path = r.Str("path");
      s.mask.hasExpectFs = r.Has("expectFs");
      s.mask.expectFs = s.mask.hasExpectFs ? r.Int("expectFs") : 0;
      break;
    case Op::JoinKeyring: s.path.path = r.Str("name"); break;
    case Op::Mkdir:
      s.mkdir.path = r.Str("path");
      s.mkdir.mode = static_cast<mode_t>(r.Int("mode"));
      break;
    case Op::PivotRoot:
    case Op::MoveRoot:
    case Op::Chroot:
    case Op::Setsid: break;
    case Op::Mknod:
      s.mknod.path = r.Str("path");
      s.mknod.mode = static_cast<mode_t>(r.Int("mode"));
      s.mknod.major = static_cast<unsigned>(r.Int("major"));
      s.mknod.minor = static_cast<unsigned>(r.Int("minor"));
      s.mknod.uid = static_cast<uid_t>(r.Int("uid"));
      s.mknod.gid = static_cast<gid_t>(r.Int("gid"));
      break;
    case Op::Symlink:
      s.symlink.target = r.Str("target");
      s.symlink.path = r.Str("path");
      break;
    case Op::WriteProc:
      s.writeProc.path = r.Str("path");
      if (strncmp(s.writeProc.path, "/proc/", 6) != 0) r.Fail("'path' must start with /proc/");
      s.writeProc.data = r.Str("data", false, &s.writeProc.len);
      break;
    case Op::Sethostname:
    case Op::Setdomainname: s.name.name = r.Str("name", false, &s.name.len); break;
    case Op::Setrlimit:
      s.rlimit.resource = static_cast<int>(r.Int("resource"));
      s.rlimit.soft = RlimitValue(r, "soft");
      s.rlimit.hard = RlimitValue(r, "hard");
      break;
    case Op::Prctl:
      s.prctl.option = static_cast<int>(r.Int("option"));
      s.prctl.arg2 = static_cast<unsigned long>(r.Int("arg2"));
      break;
    case Op::CapBounding:
      s.capBounding.keep = r.CapMask("keep");
      s.capBounding.lastCap = static_cast<int>(r.Int("lastCap"));
      if (s.capBounding.lastCap < 0 || s.capBounding.lastCap > 63) r.Fail("'lastCap' out of range");
      break;
    case Op::Capset:
      s.capset.effective = r.CapMask("effective");
      s.capset.permitted = r.CapMask("permitted");
      s.capset.inheritable = r.CapMask("inheritable");
      break;
    case Op::Ambient: {
      std::vector<int> caps;
      for (int64_t c : r.IntArray("caps")) {
        if (c < 0 || c > 63) r.Fail("'caps' has an invalid capability number");
        caps.push_back(static_cast<int>(c));
      }
      plan.intArrays.push_back(std::move(caps));
      s.ambient.caps = plan.intArrays.back().data();
      s.ambient.count = plan.intArrays.back().size();
      break;
    }
    case Op::Setgroups: {
      std::vector<gid_t> gids;
      for (int64_t g : r.IntArray("gids")) gids.push_back(static_cast<gid_t>(g));
      plan.gidArrays.push_back(std::move(gids));
      s.setgroups.gids = plan.gidArrays.back().data();
      s.setgroups.count = plan.gidArrays.back().size();
      break;
    }
    case Op::Setresgid: s.id.id = static_cast<uint32_t>(r.Int("gid")); break;
    case Op::Setresuid: s.id.id = static_cast<uint32_t>(r.Int("uid")); break;
    case Op::Umask: s.umask.mask = static_cast<mode_t>(r.Int("mask")) & 0777; break;
    case Op::Terminal:
      s.terminal.rows = static_cast<unsigned short>(r.IntOr("rows", 0));
      s.terminal.cols = static_cast<unsigned short>(r.IntOr("cols", 0));
      s.terminal.console = r.Bool("console");
      break;
    case Op::Hook:
      s.hook.path = r.Str("path");
      s.hook.argv = r.StrArray("args");
      s.hook.envp = r.StrArray("env");
      s.hook.timeoutMs = static_cast<int>(r.IntOr("timeoutMs", 0));
      s.hook.stdinSlot = r.Has("stdinSlot") ? r.Slot("stdinSlot", true) : -1;
      break;
    case Op::ResolveExec:
      s.resolveExec.name = r.Str("name");
      s.resolveExec.searchPath = r.Str("searchPath");
      break;
    case Op::Park: s.park.fd = r.Fd("fd"); break;
    case Op::Seccomp: ReadSeccomp(r, plan, obj, s.seccomp); break;
    case Op::Exec:
      s.exec.name = r.Str("name");
      s.exec.argv = r.StrArray("args");
      s.exec.envp = r.StrArray("env");
      s.exec.searchPath = r.Str("searchPath");
      s.exec.preserveFds = static_cast<int>(r.IntOr("preserveFds", 0));
      if (s.exec.preserveFds < 0 || s.exec.preserveFds > 65536) r.Fail("'preserveFds' out of range");
      break;
    case Op::PrepareFds:
      s.prepareFds.preserveFds = static_cast<int>(r.IntOr("preserveFds", 0));
      if (s.prepareFds.preserveFds < 0 || s.prepareFds.preserveFds > 65536) r.Fail("'preserveFds' out of range");
      break;
    case Op::NetDevice:
      s.netDevice.hostSock = r.Fd("fd");
      s.netDevice.name = r.Str("name");
      s.netDevice.newName = r.Str("newName", true);
      break;
    case Op::MoveMount:
      s.moveMount.fd = r.Fd("fd");
      s.moveMount.target = r.Str("target");
      s.moveMount.mkdir = ReadMkdir(r);
      break;
    case Op::Sched:
      s.sched.policy = static_cast<uint32_t>(Unsigned(r, "policy"));
      s.sched.nice = static_cast<int32_t>(r.IntOr("nice", 0));
      s.sched.priority = static_cast<uint32_t>(Unsigned(r, "priority"));
      s.sched.flags = Unsigned(r, "flags");
      s.sched.runtime = Unsigned(r, "runtime");
      s.sched.deadline = Unsigned(r, "deadline");
      s.sched.period = Unsigned(r, "period");
      break;
    case Op::Ioprio:
      s.ioprio.ioclass = static_cast<int>(r.Int("class"));
      s.ioprio.level = static_cast<int>(r.Int("level"));
      if (s.ioprio.ioclass < 0 || s.ioprio.ioclass > 7 || s.ioprio.level < 0 || s.ioprio.level > 7) r.Fail("'class' and 'level' must be in 0..7");
      break;
    case Op::Affinity: ReadBits(r, plan, "cpus", s.bits); break;
    case Op::Mempolicy:
      s.bits.mode = static_cast<int>(r.Int("mode"));
      ReadBits(r, plan, "nodes", s.bits);
      break;
    case Op::Personality: s.personality.persona = static_cast<unsigned long>(Unsigned(r, "persona")); break;
    case Op::MountSetattr:
      s.mountSetattr.target = r.Str("target");
      s.mountSetattr.attrSet = Unsigned(r, "attrSet");
      s.mountSetattr.attrClr = Unsigned(r, "attrClr");
      s.mountSetattr.propagation = Unsigned(r, "propagation");
      s.mountSetattr.recursive = r.Bool("recursive");
      break;
  }
  return s;
}

}  // namespace

void BuildPlan(const Napi::Object& cfg, Plan& plan) {
  Napi::Env env = cfg.Env();
  Reader r(env, plan, "spawn config");
  r.Bind(cfg);
  plan.cloneFlags = NamespaceFlags(r, "cloneFlags");
  // The child execs runt-init before anything else, and an exec inside a user namespace that maps
  // no uid yet leaves it without capabilities there: a new user namespace comes from an unshare step.
  if (plan.cloneFlags & CLONE_NEWUSER) r.Fail("'cloneFlags' cannot hold CLONE_NEWUSER: create the user namespace with an unshare step");
  plan.preserveFds = static_cast<int>(r.IntOr("preserveFds", 0));
  if (plan.preserveFds < 0 || plan.preserveFds > 65536) r.Fail("'preserveFds' out of range");
  plan.trace = r.Bool("trace");
  plan.pdeathSig = static_cast<int>(r.IntOr("pdeathSig", 0));
  plan.cgroupFd = static_cast<int>(r.IntOr("cgroupFd", -1));
  if (r.Has("cgroupTaskFds"))
    for (int64_t fd : r.IntArray("cgroupTaskFds")) plan.cgroupTaskFds.push_back(static_cast<int>(fd));

  Napi::Value stdio = cfg.Get("stdio");
  if (!stdio.IsArray() || stdio.As<Napi::Array>().Length() != 3) r.Fail("'stdio' must be an array of 3 fds");
  for (uint32_t i = 0; i < 3; i++) {
    Napi::Value v = stdio.As<Napi::Array>().Get(i);
    if (!v.IsNumber()) r.Fail("'stdio' must be an array of 3 fds");
    plan.stdio[i] = v.As<Napi::Number>().Int32Value();
    if (plan.stdio[i] < -1) r.Fail("'stdio' must hold fds or -1");
  }

  Napi::Value steps = cfg.Get("steps");
  if (!steps.IsArray()) r.Fail("'steps' must be an array");
  Napi::Array arr = steps.As<Napi::Array>();
  plan.steps.reserve(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, "steps[" + std::to_string(i) + "] must be an object");
    plan.steps.push_back(ReadStep(env, plan, v.As<Napi::Object>(), i));
  }

  int preserve = plan.preserveFds;
  for (const Step& s : plan.steps)
    if (s.op == Op::Exec) preserve = std::max(preserve, s.exec.preserveFds);
    else if (s.op == Op::PrepareFds) preserve = std::max(preserve, s.prepareFds.preserveFds);
  plan.fdFloor = 3 + preserve;
}

}  // namespace runt
