// Errors thrown to JS: an Error with message "syscall: strerror", `.code` the errno name
// (e.g. 'ENOENT'), `.errno` the number and `.syscall`.
#pragma once

#include <napi.h>

namespace runt {

Napi::Error ErrnoError(Napi::Env env, const char* syscall, int err);
[[noreturn]] void ThrowErrno(Napi::Env env, const char* syscall, int err);

}  // namespace runt
