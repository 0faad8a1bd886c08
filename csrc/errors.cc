#include "errors.h"

#include <cstring>
#include <string>

namespace runt {

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err) {
  const char* name = strerrorname_np(err);
  Napi::Error e = Napi::Error::New(env, std::string(syscall) + ": " + strerror(err));
  e.Set("code", name ? Napi::Value(Napi::String::New(env, name)) : Napi::Value(Napi::Number::New(env, err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  return e;
}

void ThrowErrno(Napi::Env env, const char* syscall, int err) { throw ErrnoError(env, syscall, err); }

}  // namespace runt
