// A blob's body from a plain-HTTP registry straight into its file, on a worker thread: large socket
// reads, sha256 over each read while it is in cache, one write per filled buffer. No policy here:
// src/image/fast-blob.ts builds the request, reads the response head, decides whether this path
// applies (status, Content-Length, Content-Range) and checks the size and digest that come back.
//
//   blobConnect(address, family, port, request, timeoutMs) -> Promise<{fd, head, rest}>
//     connects, sends `request`, reads up to the end of the response head ("\r\n\r\n"); `rest` is
//     what came after it (the body's first bytes). The fd is the caller's to close.
//   blobCopy(sock, file, rest, length, hashPrefix, timeoutMs, onProgress?) -> Promise<{bytes, digest}>
//     hashes the file's first `hashPrefix` bytes (a resumed download), then appends `rest` and the
//     next bytes from `sock` until `length` body bytes are written. It stops early at end of stream
//     or after `timeoutMs` without a byte: `bytes` tells how many were written, `digest` is empty
//     then. A failed read or write rejects with the errno error, its `.bytes` set likewise.
//   sha256(data) -> hex, at once: the digests of manifests and configs without loading node:crypto.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "blob_digest.h"
#include "errors.h"
#include "exports.h"

namespace runt {
namespace {

constexpr size_t kMaxHead = 64 << 10;
constexpr size_t kBuffer = 1 << 20;
constexpr uint64_t kProgressEvery = 1 << 20;

void SetTimeouts(int fd, int64_t ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

class ConnectWorker : public Napi::AsyncWorker {
 public:
  ConnectWorker(Napi::Env env, std::string address, int family, int port, std::string request, int64_t timeout_ms)
      : Napi::AsyncWorker(env, "runt.blobConnect"),
        deferred_(Napi::Promise::Deferred::New(env)),
        address_(std::move(address)),
        family_(family),
        port_(port),
        request_(std::move(request)),
        timeout_ms_(timeout_ms) {}
  ~ConnectWorker() override {
    if (fd_ >= 0) close(fd_);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    sockaddr_storage sa{};
    socklen_t len;
    if (family_ == 6) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&sa);
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(port_);
      if (inet_pton(AF_INET6, address_.c_str(), &s6->sin6_addr) != 1) return Fail("inet_pton", EINVAL);
      len = sizeof *s6;
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&sa);
      s4->sin_family = AF_INET;
      s4->sin_port = htons(port_);
      if (inet_pton(AF_INET, address_.c_str(), &s4->sin_addr) != 1) return Fail("inet_pton", EINVAL);
      len = sizeof *s4;
    }
    fd_ = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Fail("socket", errno);
    // Blocking calls bounded by the timeouts: a connect or read that waits longer fails with
    // EINPROGRESS / EAGAIN.
    SetTimeouts(fd_, timeout_ms_);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    while (connect(fd_, reinterpret_cast<sockaddr*>(&sa), len) < 0) {
      if (errno == EINTR) continue;
      return Fail("connect", errno == EINPROGRESS ? ETIMEDOUT : errno);
    }
    size_t sent = 0;
    while (sent < request_.size()) {
      ssize_t n = send(fd_, request_.data() + sent, request_.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Fail("send", errno == EAGAIN ? ETIMEDOUT : errno);
      sent += static_cast<size_t>(n);
    }
    buf_.resize(kMaxHead);
    size_t got = 0;
    for (;;) {
      ssize_t n = recv(fd_, buf_.data() + got, buf_.size() - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Fail("recv", errno == EAGAIN ? ETIMEDOUT : errno);
      if (n == 0) return Fail("recv", ECONNRESET);
      size_t from = got > 3 ? got - 3 : 0;
      got += static_cast<size_t>(n);
      void* end = memmem(buf_.data() + from, got - from, "\r\n\r\n", 4);
      if (end) {
        head_len_ = static_cast<const char*>(end) - buf_.data() + 4;
        buf_.resize(got);
        return;
      }
      if (got == buf_.size()) return Fail("recv", EMSGSIZE);
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_) {
      deferred_.Reject(ErrnoError(env, syscall_, err_).Value());
      return;
    }
    Napi::Object r = Napi::Object::New(env);
    r.Set("fd", Napi::Number::New(env, fd_));
    r.Set("head", Napi::Buffer<char>::Copy(env, buf_.data(), head_len_));
    r.Set("rest", Napi::Buffer<char>::Copy(env, buf_.data() + head_len_, buf_.size() - head_len_));
    fd_ = -1;
    deferred_.Resolve(r);
  }

 private:
  void Fail(const char* syscall, int err) {
    syscall_ = syscall;
    err_ = err;
  }
  Napi::Promise::Deferred deferred_;
  std::string address_;
  int family_;
  int port_;
  std::string request_;
  int64_t timeout_ms_;
  int fd_ = -1;
  std::vector<char> buf_;
  size_t head_len_ = 0;
  const char* syscall_ = "";
  int err_ = 0;
};

class CopyWorker : public Napi::AsyncProgressWorker<uint64_t> {
 public:
  CopyWorker(Napi::Env env, int sock, int file, std::string rest, uint64_t length, uint64_t hash_prefix, int64_t timeout_ms,
             Napi::Function on_progress)
      : Napi::AsyncProgressWorker<uint64_t>(env, "runt.blobCopy"),
        deferred_(Napi::Promise::Deferred::New(env)),
        sock_(sock),
        file_(file),
        rest_(std::move(rest)),
        length_(length),
        hash_prefix_(hash_prefix),
        timeout_ms_(timeout_ms) {
    if (!on_progress.IsEmpty()) on_progress_ = Napi::Persistent(on_progress);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute(const ExecutionProgress& progress) override {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return Fail("EVP_DigestInit_ex", ENOMEM);
    std::unique_ptr<char[]> buf(new char[kBuffer]);
    if (int err = HashFilePrefix(file_, hash_prefix_, ctx.get(), buf.get(), kBuffer)) return Fail("pread", err);
    // `rest` arrived with the head: it is the body's start (never more than the body: the caller
    // checked, as the server closes the connection after the body).
    size_t fill = std::min<size_t>(rest_.size(), length_);
    memcpy(buf.get(), rest_.data(), fill);
    EVP_DigestUpdate(ctx.get(), buf.get(), fill);
    uint64_t received = fill;
    uint64_t reported = 0;
    SetTimeouts(sock_, timeout_ms_);
    for (;;) {
      if (fill == kBuffer || received == length_) {
        if (!Flush(buf.get(), fill)) return;
        fill = 0;
        if (received - reported >= kProgressEvery || received == length_) {
          reported = received;
          if (!on_progress_.IsEmpty()) progress.Send(&reported, 1);
        }
        if (received == length_) break;
      }
      size_t want = std::min<uint64_t>(kBuffer - fill, length_ - received);
      // Once the buffer holds something, a read that would wait writes it out first.
      ssize_t n = recv(sock_, buf.get() + fill, want, fill ? MSG_DONTWAIT : 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && fill) {
        if (!Flush(buf.get(), fill)) return;
        fill = 0;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        ended_ = "timeout";
        return;
      }
      if (n < 0) {
        Flush(buf.get(), fill);
        return Fail("recv", errno);
      }
      if (n == 0) {
        if (Flush(buf.get(), fill)) ended_ = "eof";
        return;
      }
      EVP_DigestUpdate(ctx.get(), buf.get() + fill, static_cast<size_t>(n));
      fill += static_cast<size_t>(n);
      received += static_cast<uint64_t>(n);
    }
    digest_ = FinalHex(ctx.get());
  }
  void OnProgress(const uint64_t* data, size_t count) override {
    if (!count || on_progress_.IsEmpty()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    on_progress_.Call({Napi::Number::New(env, static_cast<double>(data[count - 1]))});
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_) {
      Napi::Error e = ErrnoError(env, syscall_, err_);
      e.Set("bytes", Napi::Number::New(env, static_cast<double>(written_)));
      deferred_.Reject(e.Value());
      return;
    }
    Napi::Object r = Napi::Object::New(env);
    r.Set("bytes", Napi::Number::New(env, static_cast<double>(written_)));
    r.Set("digest", Napi::String::New(env, digest_));
    r.Set("ended", Napi::String::New(env, ended_));
    deferred_.Resolve(r);
  }

 private:
  bool Flush(const char* p, size_t n) {
    while (n) {
      ssize_t w = write(file_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        Fail("write", errno);
        return false;
      }
      p += w;
      n -= static_cast<size_t>(w);
      written_ += static_cast<uint64_t>(w);
    }
    return true;
  }
  void Fail(const char* syscall, int err) {
    syscall_ = syscall;
    err_ = err;
  }
  Napi::Promise::Deferred deferred_;
  int sock_;
  int file_;
  std::string rest_;
  uint64_t length_;
  uint64_t hash_prefix_;
  int64_t timeout_ms_;
  Napi::FunctionReference on_progress_;
  uint64_t written_ = 0;
  std::string digest_;
  const char* ended_ = "done";
  const char* syscall_ = "";
  int err_ = 0;
};

}  // namespace

Napi::Value Sha256(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "sha256(data: Buffer)");
  auto data = info[0].As<Napi::Buffer<unsigned char>>();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(data.Data(), data.Length(), md, &md_len, EVP_sha256(), nullptr) != 1) throw Napi::Error::New(env, "sha256: EVP_Digest failed");
  return Napi::String::New(env, Hex(md, md_len));
}

Napi::Value BlobConnect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsBuffer() ||
      !info[4].IsNumber())
    throw Napi::TypeError::New(env, "blobConnect(address, family, port, request: Buffer, timeoutMs)");
  auto req = info[3].As<Napi::Buffer<char>>();
  auto* w = new ConnectWorker(env, info[0].As<Napi::String>(), info[1].As<Napi::Number>().Int32Value(),
                              info[2].As<Napi::Number>().Int32Value(), std::string(req.Data(), req.Length()),
                              info[4].As<Napi::Number>().Int64Value());
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value BlobCopy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 6 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsBuffer() || !info[3].IsNumber() ||
      !info[4].IsNumber() || !info[5].IsNumber())
    throw Napi::TypeError::New(env, "blobCopy(sock, file, rest: Buffer, length, hashPrefix, timeoutMs, onProgress?)");
  auto rest = info[2].As<Napi::Buffer<char>>();
  Napi::Function cb = info.Length() > 6 && info[6].IsFunction() ? info[6].As<Napi::Function>() : Napi::Function();
  auto* w = new CopyWorker(env, info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value(),
                           std::string(rest.Data(), rest.Length()), static_cast<uint64_t>(info[3].As<Napi::Number>().Int64Value()),
                           static_cast<uint64_t>(info[4].As<Napi::Number>().Int64Value()), info[5].As<Napi::Number>().Int64Value(),
                           cb);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace runt
