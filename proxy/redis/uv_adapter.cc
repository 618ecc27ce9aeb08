#include "proxy/redis/uv_adapter.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

namespace edge::redis {
namespace {

struct UvEvents {
  redisAsyncContext* context = nullptr;  // null once hiredis let go of us
  uv_poll_t handle{};
  int events = 0;
};

UvEvents& self(void* privdata) { return *static_cast<UvEvents*>(privdata); }

void onPoll(uv_poll_t* handle, int status, int events) {
  UvEvents& p = *static_cast<UvEvents*>(handle->data);
  // On an error, report what we waited for: the read or write then meets the socket error.
  const int ready = status < 0 ? p.events : events;
  if (p.context != nullptr && (ready & UV_READABLE) != 0) {
    redisAsyncHandleRead(p.context);
  }
  if (p.context != nullptr && (ready & UV_WRITABLE) != 0) {
    redisAsyncHandleWrite(p.context);
  }
}

void update(UvEvents& p, int events) {
  p.events = events;
  if (events != 0) {
    uv_poll_start(&p.handle, events, &onPoll);
  } else {
    uv_poll_stop(&p.handle);
  }
}

void addRead(void* privdata) { update(self(privdata), self(privdata).events | UV_READABLE); }
void delRead(void* privdata) { update(self(privdata), self(privdata).events & ~UV_READABLE); }
void addWrite(void* privdata) { update(self(privdata), self(privdata).events | UV_WRITABLE); }
void delWrite(void* privdata) { update(self(privdata), self(privdata).events & ~UV_WRITABLE); }

void cleanup(void* privdata) {
  UvEvents& p = self(privdata);
  p.context = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&p.handle),
           [](uv_handle_t* h) { delete static_cast<UvEvents*>(h->data); });
}

}  // namespace

int attachToLoop(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data != nullptr) {
    return REDIS_ERR;
  }
  auto* p = new UvEvents;
  if (uv_poll_init(loop, &p->handle, ac->c.fd) != 0) {
    delete p;
    return REDIS_ERR;
  }
  p->handle.data = p;
  p->context = ac;
  ac->ev.addRead = &addRead;
  ac->ev.delRead = &delRead;
  ac->ev.addWrite = &addWrite;
  ac->ev.delWrite = &delWrite;
  ac->ev.cleanup = &cleanup;
  ac->ev.data = p;
  return REDIS_OK;
}

}  // namespace edge::redis
