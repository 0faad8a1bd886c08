// Argument checks for the JS-facing functions.
#pragma once

#include <napi.h>

#include <string>

namespace runt {

inline int IntArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (!info[i].IsNumber())
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": argument " + std::to_string(i + 1) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

inline std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (!info[i].IsString())
    throw Napi::TypeError::New(info.Env(), std::string(fn) + ": argument " + std::to_string(i + 1) + " must be a string");
  return info[i].As<Napi::String>().Utf8Value();
}

}  // namespace runt
