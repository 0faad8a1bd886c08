// A blob body that arrives through Node (HTTPS: Node's TLS decrypts it) into its file, hashed and
// written on the thread pool: JavaScript gathers the decrypted chunks into large buffers and hands
// each one over, so no sha256 and no write runs on the main thread, and both overlap the next reads.
// No policy here: src/image/fetch-blob.ts decides what is written where and checks the digest.
//
//   blobSinkNew() -> sink: a sha256 context (freed with the sink object)
//   blobSinkHashFile(sink, file, length) -> Promise<void>: hashes the file's first `length` bytes
//     (a resumed download's partial)
//   blobSinkWrite(sink, file, data) -> Promise<void>: hashes `data`, then writes all of it to `file`
//     (opened for appending); rejects with the errno error (`code`) of a failed write
//   blobSinkDigest(sink) -> hex: the sha256 of everything hashed so far (the sink is spent)
// One call at a time per sink: the caller awaits each before the next.
#include <errno.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>

#include "blob_digest.h"
#include "errors.h"
#include "exports.h"

namespace runt {
namespace {

constexpr size_t kReadBuffer = 1 << 20;

struct Sink {
  EVP_MD_CTX* ctx = nullptr;
  ~Sink() {
    if (ctx) EVP_MD_CTX_free(ctx);
  }
};

Sink* SinkOf(const Napi::Env& env, const Napi::Value& v) {
  if (!v.IsExternal()) throw Napi::TypeError::New(env, "blobSink: not a sink");
  Sink* s = v.As<Napi::External<Sink>>().Data();
  if (!s->ctx) throw Napi::Error::New(env, "blobSink: already finished");
  return s;
}

class SinkWorker : public Napi::AsyncWorker {
 public:
  // data empty and length > 0: hash the file's first `length` bytes; else hash and write `data`.
  SinkWorker(Napi::Env env, Napi::Value sink, int file, Napi::Buffer<char> data, uint64_t length)
      : Napi::AsyncWorker(env, "runt.blobSink"),
        deferred_(Napi::Promise::Deferred::New(env)),
        sink_(Napi::Persistent(sink.As<Napi::External<Sink>>())),
        ctx_(sink.As<Napi::External<Sink>>().Data()->ctx),
        file_(file),
        length_(length) {
    if (!data.IsEmpty()) {
      data_ = Napi::Persistent(data);
      ptr_ = data.Data();
      size_ = data.Length();
    }
  }
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    if (!ptr_) {
      std::unique_ptr<char[]> buf(new char[kReadBuffer]);
      if (int err = HashFilePrefix(file_, length_, ctx_, buf.get(), kReadBuffer)) Fail("pread", err);
      return;
    }
    EVP_DigestUpdate(ctx_, ptr_, size_);
    const char* p = ptr_;
    size_t n = size_;
    while (n) {
      ssize_t w = write(file_, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return Fail("write", errno);
      p += w;
      n -= static_cast<size_t>(w);
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_) deferred_.Reject(ErrnoError(env, syscall_, err_).Value());
    else deferred_.Resolve(env.Undefined());
  }

 private:
  void Fail(const char* syscall, int err) {
    syscall_ = syscall;
    err_ = err;
  }
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::External<Sink>> sink_;
  Napi::Reference<Napi::Buffer<char>> data_;
  EVP_MD_CTX* ctx_;
  int file_;
  uint64_t length_;
  const char* ptr_ = nullptr;
  size_t size_ = 0;
  const char* syscall_ = "";
  int err_ = 0;
};

}  // namespace

Napi::Value BlobSinkNew(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* s = new Sink();
  s->ctx = EVP_MD_CTX_new();
  if (!s->ctx || EVP_DigestInit_ex(s->ctx, EVP_sha256(), nullptr) != 1) {
    delete s;
    throw Napi::Error::New(env, "blobSinkNew: EVP_DigestInit_ex failed");
  }
  return Napi::External<Sink>::New(env, s, [](Napi::Env, Sink* p) { delete p; });
}

Napi::Value BlobSinkHashFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsNumber())
    throw Napi::TypeError::New(env, "blobSinkHashFile(sink, file, length)");
  SinkOf(env, info[0]);
  auto* w = new SinkWorker(env, info[0], info[1].As<Napi::Number>().Int32Value(), Napi::Buffer<char>(),
                           static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value()));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value BlobSinkWrite(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[1].IsNumber() || !info[2].IsBuffer())
    throw Napi::TypeError::New(env, "blobSinkWrite(sink, file, data: Buffer)");
  SinkOf(env, info[0]);
  auto data = info[2].As<Napi::Buffer<char>>();
  if (data.Length() == 0) {
    auto d = Napi::Promise::Deferred::New(env);
    d.Resolve(env.Undefined());
    return d.Promise();
  }
  auto* w = new SinkWorker(env, info[0], info[1].As<Napi::Number>().Int32Value(), data, 0);
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

Napi::Value BlobSinkDigest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw Napi::TypeError::New(env, "blobSinkDigest(sink)");
  Sink* s = SinkOf(env, info[0]);
  std::string out = FinalHex(s->ctx);
  EVP_MD_CTX_free(s->ctx);
  s->ctx = nullptr;
  return Napi::String::New(env, out);
}

}  // namespace runt
