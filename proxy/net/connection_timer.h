// A connection's one timer: it runs for one reason at a time (connect, keep-alive, header,
// idle, linger...) and tells the connection which reason expired. Restarting it for another
// reason replaces the old one. Closing or destroying it cancels it: the callback never runs
// afterwards, even when the connection is gone before the timer's close callback.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <utility>

#include "proxy/timer.h"

namespace edge::net {

// `Reason` is an enum with a `None` value, the state of a timer that is not running.
template <typename Reason>
class ConnectionTimer {
 public:
  ConnectionTimer(uv_loop_t* loop, std::function<void(Reason)> on_expire)
      : on_expire_(std::move(on_expire)), timer_(Timer::create(loop, [this] { expire(); })) {}
  ~ConnectionTimer() { close(); }
  ConnectionTimer(const ConnectionTimer&) = delete;
  ConnectionTimer& operator=(const ConnectionTimer&) = delete;

  void start(Reason reason, std::chrono::milliseconds timeout) {
    if (timer_ == nullptr) {
      return;  // closed
    }
    reason_ = reason;
    timer_->start(static_cast<uint64_t>(timeout.count()));
  }
  void stop() {
    if (timer_ != nullptr) {
      timer_->stop();
    }
    reason_ = Reason::None;
  }
  Reason reason() const { return reason_; }
  void close() {
    if (timer_ != nullptr) {
      timer_->close();
      timer_ = nullptr;
    }
    reason_ = Reason::None;
  }

 private:
  void expire() {
    Reason reason = std::exchange(reason_, Reason::None);
    on_expire_(reason);
  }

  std::function<void(Reason)> on_expire_;
  Timer* timer_;
  Reason reason_ = Reason::None;
};

}  // namespace edge::net
