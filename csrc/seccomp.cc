// compileSeccomp(): an OCI linux.seccomp object → a BPF program (struct sock_filter array) built
// with libseccomp. The filter is only exported here; the child loads it with a seccomp step.
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "errors.h"
#include "exports.h"

namespace runt {
namespace {

struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Filter = std::unique_ptr<void, FilterDeleter>;

[[noreturn]] void Invalid(Napi::Env env, const std::string& what) {
  throw Napi::TypeError::New(env, "seccomp: " + what);
}

[[noreturn]] void LibFailed(Napi::Env env, const std::string& what, int rc) {
  throw Napi::Error::New(env, "seccomp: " + what + ": " + strerror(-rc));
}

Napi::Value Field(const Napi::Object& o, const char* key) { return o.Get(key); }

bool Present(const Napi::Value& v) { return !v.IsUndefined() && !v.IsNull(); }

uint64_t U64(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (v.IsBigInt()) {
    bool lossless = true;
    uint64_t n = v.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) Invalid(env, what + " does not fit in 64 bits");
    return n;
  }
  if (!v.IsNumber()) Invalid(env, what + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d < 0 || d != static_cast<double>(static_cast<uint64_t>(d))) Invalid(env, what + " must be a non-negative integer");
  return static_cast<uint64_t>(d);
}

uint32_t ErrnoRet(Napi::Env env, const Napi::Value& v, const std::string& what) {
  if (!Present(v)) return EPERM;
  uint64_t n = U64(env, v, what);
  if (n > 0xffff) Invalid(env, what + " out of range");
  return static_cast<uint32_t>(n);
}

uint32_t Action(Napi::Env env, const Napi::Value& name, uint32_t errnoRet) {
  if (!name.IsString()) Invalid(env, "action must be a string");
  std::string a = name.As<Napi::String>().Utf8Value();
  if (a == "SCMP_ACT_KILL") return SCMP_ACT_KILL;
  if (a == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (a == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (a == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (a == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errnoRet);
  if (a == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errnoRet);
  if (a == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (a == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (a == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  throw Napi::Error::New(env, "seccomp: unknown action " + a);
}

uint32_t Arch(Napi::Env env, const Napi::Value& name) {
  if (!name.IsString()) Invalid(env, "architectures must be strings");
  std::string a = name.As<Napi::String>().Utf8Value();
  // SCMP_ARCH_X86_64 → "x86_64", the name libseccomp resolves.
  const std::string prefix = "SCMP_ARCH_";
  uint32_t token = 0;
  if (a.compare(0, prefix.size(), prefix) == 0) {
    std::string lower = a.substr(prefix.size());
    for (char& c : lower) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    token = seccomp_arch_resolve_name(lower.c_str());
  }
  if (token == 0) throw Napi::Error::New(env, "seccomp: unknown architecture " + a);
  return token;
}

scmp_compare CompareOp(Napi::Env env, const Napi::Value& name) {
  std::string op = name.IsString() ? name.As<Napi::String>().Utf8Value() : "";
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  throw Napi::Error::New(env, "seccomp: unknown operator " + op);
}

std::vector<scmp_arg_cmp> ArgComparisons(Napi::Env env, const Napi::Value& args) {
  std::vector<scmp_arg_cmp> out;
  if (!Present(args)) return out;
  if (!args.IsArray()) Invalid(env, "syscalls[].args must be an array");
  Napi::Array arr = args.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsObject()) Invalid(env, "syscalls[].args[] must be objects");
    Napi::Object a = v.As<Napi::Object>();
    uint64_t index = U64(env, Field(a, "index"), "args[].index");
    if (index > 5) Invalid(env, "args[].index must be 0..5");
    scmp_arg_cmp cmp;
    cmp.arg = static_cast<unsigned>(index);
    cmp.op = CompareOp(env, Field(a, "op"));
    // For SCMP_CMP_MASKED_EQ, value is the mask and valueTwo the expected value, as in libseccomp.
    cmp.datum_a = U64(env, Field(a, "value"), "args[].value");
    cmp.datum_b = Present(Field(a, "valueTwo")) ? U64(env, Field(a, "valueTwo"), "args[].valueTwo") : 0;
    out.push_back(cmp);
  }
  return out;
}

void AddRules(Napi::Env env, scmp_filter_ctx ctx, uint32_t defaultAction, const Napi::Object& rule) {
  uint32_t action = Action(env, Field(rule, "action"), ErrnoRet(env, Field(rule, "errnoRet"), "errnoRet"));
  if (action == defaultAction) return;  // libseccomp rejects a rule that repeats the default
  std::vector<scmp_arg_cmp> args = ArgComparisons(env, Field(rule, "args"));

  // All comparisons in one rule are ANDed, but libseccomp allows only one per argument index.
  // With a repeated index, every comparison becomes its own rule (ORed), as other runtimes do.
  std::set<unsigned> indices;
  for (const scmp_arg_cmp& a : args) indices.insert(a.arg);
  bool separate = indices.size() != args.size();

  Napi::Value names = Field(rule, "names");
  if (!names.IsArray()) Invalid(env, "syscalls[].names must be an array");
  Napi::Array arr = names.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value n = arr.Get(i);
    if (!n.IsString()) Invalid(env, "syscalls[].names must be strings");
    std::string name = n.As<Napi::String>().Utf8Value();
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // unknown to this libseccomp/arch: skipped
    int rc;
    if (!separate) {
      rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()), args.data());
      if (rc < 0) LibFailed(env, "adding a rule for " + name, rc);
    } else {
      for (const scmp_arg_cmp& a : args) {
        rc = seccomp_rule_add_array(ctx, action, nr, 1, &a);
        if (rc < 0) LibFailed(env, "adding a rule for " + name, rc);
      }
    }
  }
}

std::vector<uint8_t> ExportBpf(Napi::Env env, scmp_filter_ctx ctx) {
  int fd = memfd_create("runt-seccomp", MFD_CLOEXEC);
  if (fd < 0) ThrowErrno(env, "memfd_create", errno);
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) {
    close(fd);
    LibFailed(env, "exporting the filter", rc);
  }
  std::vector<uint8_t> out;
  off_t size = lseek(fd, 0, SEEK_END);
  if (size < 0 || lseek(fd, 0, SEEK_SET) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "lseek", err);
  }
  out.resize(static_cast<size_t>(size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      close(fd);
      ThrowErrno(env, "read", err);
    }
    done += static_cast<size_t>(n);
  }
  close(fd);
  return out;
}

}  // namespace

Napi::Value CompileSeccomp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) Invalid(env, "expected the linux.seccomp object");
  Napi::Object spec = info[0].As<Napi::Object>();

  uint32_t defaultAction =
      Action(env, Field(spec, "defaultAction"), ErrnoRet(env, Field(spec, "defaultErrnoRet"), "defaultErrnoRet"));
  Filter ctx(seccomp_init(defaultAction));
  if (!ctx) throw Napi::Error::New(env, "seccomp: seccomp_init failed");
  // The runtime decides about no_new_privs; loading this program must not set it by itself.
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  if (rc < 0) LibFailed(env, "clearing SCMP_FLTATR_CTL_NNP", rc);

  Napi::Value arches = Field(spec, "architectures");
  if (Present(arches)) {
    if (!arches.IsArray()) Invalid(env, "architectures must be an array");
    Napi::Array arr = arches.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      rc = seccomp_arch_add(ctx.get(), Arch(env, arr.Get(i)));
      if (rc < 0 && rc != -EEXIST) LibFailed(env, "adding an architecture", rc);
    }
  }

  Napi::Value syscalls = Field(spec, "syscalls");
  if (Present(syscalls)) {
    if (!syscalls.IsArray()) Invalid(env, "syscalls must be an array");
    Napi::Array arr = syscalls.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value rule = arr.Get(i);
      if (!rule.IsObject()) Invalid(env, "syscalls[] must be objects");
      AddRules(env, ctx.get(), defaultAction, rule.As<Napi::Object>());
    }
  }

  std::vector<uint8_t> bpf = ExportBpf(env, ctx.get());
  Napi::Uint8Array result = Napi::Uint8Array::New(env, bpf.size());
  if (!bpf.empty()) memcpy(result.Data(), bpf.data(), bpf.size());
  return result;
}

// seccompVersion(): the version of the libseccomp this addon is linked with, as runc prints it.
Napi::Value SeccompVersion(const Napi::CallbackInfo& info) {
  const scmp_version* v = seccomp_version();
  if (v == nullptr) return info.Env().Null();
  return Napi::String::New(info.Env(), std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                                           std::to_string(v->micro));
}

}  // namespace runt
