// whenReadable(fd): a one-shot Promise on the event loop (uv_poll_t). libuv allows only one poll
// handle per fd, so concurrent waits on the same fd share one watch.
#include <uv.h>

#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "args.h"
#include "errors.h"
#include "exports.h"

namespace runt {
namespace {

struct Watch {
  uv_poll_t handle;
  napi_env env;
  uv_loop_t* loop;
  int fd;
  std::vector<napi_deferred> waiters;
  std::unique_ptr<Napi::AsyncContext> context;
};

// Only touched from the loop's own thread; keyed by loop so worker threads do not collide.
std::map<std::pair<uv_loop_t*, int>, Watch*>& Watches() {
  static std::map<std::pair<uv_loop_t*, int>, Watch*> watches;
  return watches;
}

void OnClosed(uv_handle_t* handle) { delete static_cast<Watch*>(handle->data); }

void OnEvent(uv_poll_t* handle, int /*status*/, int /*events*/) {
  // Any event, an error included, resolves: the caller looks at the fd itself next.
  Watch* w = static_cast<Watch*>(handle->data);
  uv_poll_stop(handle);
  Watches().erase({w->loop, w->fd});
  std::vector<napi_deferred> waiters = std::move(w->waiters);
  {
    Napi::Env env(w->env);
    Napi::HandleScope handles(env);
    // The callback scope makes Node run the microtasks (the awaiting code) when it closes.
    Napi::CallbackScope callback(env, *w->context);
    for (napi_deferred d : waiters) napi_resolve_deferred(env, d, env.Undefined());
  }
  w->context.reset();
  uv_close(reinterpret_cast<uv_handle_t*>(handle), OnClosed);
}

}  // namespace

Napi::Value WhenReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = IntArg(info, 0, "whenReadable");
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "whenReadable: no event loop");

  napi_deferred deferred;
  napi_value promise;
  if (napi_create_promise(env, &deferred, &promise) != napi_ok) throw Napi::Error::New(env, "whenReadable: napi_create_promise failed");

  auto existing = Watches().find({loop, fd});
  if (existing != Watches().end()) {
    existing->second->waiters.push_back(deferred);
    return Napi::Value(env, promise);
  }

  auto w = std::make_unique<Watch>();
  w->env = env;
  w->loop = loop;
  w->fd = fd;
  int rc = uv_poll_init(loop, &w->handle, fd);
  if (rc < 0) {
    napi_reject_deferred(env, deferred, ErrnoError(env, "uv_poll_init", -rc).Value());
    return Napi::Value(env, promise);
  }
  w->handle.data = w.get();
  rc = uv_poll_start(&w->handle, UV_READABLE | UV_DISCONNECT, OnEvent);
  if (rc < 0) {
    napi_reject_deferred(env, deferred, ErrnoError(env, "uv_poll_start", -rc).Value());
    uv_close(reinterpret_cast<uv_handle_t*>(&w.release()->handle), OnClosed);
    return Napi::Value(env, promise);
  }
  w->context = std::make_unique<Napi::AsyncContext>(env, "runt.whenReadable");
  w->waiters.push_back(deferred);
  Watches()[{loop, fd}] = w.release();
  return Napi::Value(env, promise);
}

}  // namespace runt
