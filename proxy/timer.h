// A one-shot timer for objects that do not own libuv handles themselves (a Stream waiting on
// another request's fetch, a connection's deadlines). Created on a worker loop, it dies only
// through close(): uv_close, then delete in the close callback; after close() the callback
// never runs, and close() may be called from inside the callback.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

namespace edge {

class Timer {
 public:
  static Timer* create(uv_loop_t* loop, std::function<void()> on_fire) {
    auto* timer = new Timer(std::move(on_fire));
    uv_timer_init(loop, &timer->handle_);
    timer->handle_.data = timer;
    return timer;
  }

  // Starts, or restarts, the countdown.
  void start(uint64_t timeout_ms) {
    uv_timer_start(&handle_, [](uv_timer_t* h) {
      auto* self = static_cast<Timer*>(h->data);
      if (!self->closed_ && self->on_fire_) {
        self->on_fire_();
      }
    }, timeout_ms, 0);
  }

  void stop() { uv_timer_stop(&handle_); }

  void close() {
    if (closed_) {
      return;
    }
    // The callback stays alive until the close callback: close() may run inside it.
    closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_),
             [](uv_handle_t* h) { delete static_cast<Timer*>(h->data); });
  }

 private:
  explicit Timer(std::function<void()> on_fire) : on_fire_(std::move(on_fire)) {}
  ~Timer() = default;

  uv_timer_t handle_{};
  std::function<void()> on_fire_;
  bool closed_ = false;
};

}  // namespace edge
