// Tiny helpers for the executor in runt-init: no allocation, no locks, no stdio. Everything writes
// into fixed buffers supplied by the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>

#include "protocol.h"

namespace runt::sigsafe {

// A bounded text buffer; appends silently truncate.
class Text {
 public:
  Text() { Clear(); }
  void Clear() { len_ = 0; buf_[0] = '\0'; }
  Text& Add(const char* s) {
    if (!s) s = "(null)";
    while (*s && len_ + 1 < sizeof buf_) buf_[len_++] = *s++;
    buf_[len_] = '\0';
    return *this;
  }
  Text& Add(int64_t v) {
    if (v < 0) {
      Add("-");
      return AddUnsigned(static_cast<uint64_t>(-(v + 1)) + 1);
    }
    return AddUnsigned(static_cast<uint64_t>(v));
  }
  Text& AddUnsigned(uint64_t v) {
    char digits[24];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    char out[24];
    for (int i = 0; i < n; i++) out[i] = digits[n - 1 - i];
    out[n] = '\0';
    return Add(out);
  }
  const char* c_str() const { return buf_; }
  size_t size() const { return len_; }

 private:
  char buf_[kMsgTextSize];
  size_t len_;
};

// "/proc/self/fd/N" for handing an O_PATH fd to calls that only take paths (mount).
struct FdPath {
  FdPath() { path[0] = '\0'; }
  explicit FdPath(int fd) {
    Text t;
    t.Add("/proc/self/fd/").Add(static_cast<int64_t>(fd));
    memcpy(path, t.c_str(), t.size() + 1);
  }
  char path[32];
};

inline uint64_t MonotonicUsec() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

// Copies src into dst (capacity cap). False when it does not fit.
inline bool CopyString(char* dst, size_t cap, const char* src) {
  size_t n = strlen(src);
  if (n + 1 > cap) return false;
  memcpy(dst, src, n + 1);
  return true;
}

}  // namespace runt::sigsafe
