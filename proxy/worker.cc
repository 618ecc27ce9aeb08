#include "proxy/worker.h"

#include <unistd.h>

#include <algorithm>
#include <utility>

#include "proxy/background_encoder.h"
#include "proxy/downstream_conn.h"
#include "proxy/listener.h"
#include "proxy/log.h"
#include "proxy/upstream/pool.h"

namespace edge {

Worker::Worker(unsigned id, RuntimePtr runtime, cache::SharedCachePtr cache,
               std::vector<int> listen_fds)
    : id_(id),
      runtime_(std::move(runtime)),
      cache_(std::move(cache)),
      listen_fds_(std::move(listen_fds)),
      read_buffer_(std::make_unique<char[]>(kReadBufferSize)) {}

Worker::~Worker() { join(); }

void Worker::start() {
  // Everything is initialised before the thread starts, so post() works from this moment on
  // (a signal may arrive right after the first "listening" line).
  uv_loop_init(&loop_);
  uv_async_init(&loop_, &mailbox_async_, [](uv_async_t* h) {
    static_cast<Worker*>(h->data)->onMailbox();
  });
  mailbox_async_.data = this;
  uv_idle_init(&loop_, &idle_);
  idle_.data = this;
  uv_check_init(&loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, [](uv_check_t* h) { static_cast<Worker*>(h->data)->onCheck(); });
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
  uv_timer_init(&loop_, &drain_timer_);
  drain_timer_.data = this;
  upstreams_ = std::make_unique<upstream::UpstreamSet>(runtime_, upstream_counters_);
  encoder_ = std::make_unique<BackgroundEncoder>(*this);
  for (size_t i = 0; i < listen_fds_.size(); ++i) {
    listeners_.push_back(Listener::open(*this, listen_fds_[i], i));
  }
  listen_fds_.clear();
  thread_ = std::thread([this] { run(); });
}

void Worker::join() {
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Worker::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
  graveyard_.clear();
  encoder_.reset();
  upstreams_.reset();
  int rc = uv_loop_close(&loop_);
  if (rc != 0) {
    EDGE_LOG_WARN("worker %u: loop closed with handles open: %s", id_, uv_strerror(rc));
  }
  if (on_exit_) {
    on_exit_();
  }
}

void Worker::post(std::function<void()> fn) {
  std::lock_guard<std::mutex> lock(mailbox_mutex_);
  if (loop_handles_closed_) {
    return;  // the loop is gone; nothing can run the closure any more
  }
  mailbox_.push_back(std::move(fn));
  uv_async_send(&mailbox_async_);
}

void Worker::onMailbox() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    batch.swap(mailbox_);
  }
  for (auto& fn : batch) {
    fn();
  }
}

void Worker::drain() {
  post([this] { startDrain(); });
}

void Worker::reconfigure(RuntimePtr runtime, std::vector<ListenerPlan> listeners) {
  post([this, runtime = std::move(runtime), listeners = std::move(listeners)]() mutable {
    applyRuntime(std::move(runtime), std::move(listeners));
  });
}

void Worker::applyRuntime(RuntimePtr runtime, std::vector<ListenerPlan> plans) {
  if (draining_) {
    for (const ListenerPlan& plan : plans) {
      if (!plan.keep && plan.fd >= 0) {
        ::close(plan.fd);  // never listened on: nothing else holds it
      }
    }
    return;
  }
  std::vector<Listener*> old = std::move(listeners_);
  listeners_.clear();
  for (size_t i = 0; i < plans.size(); ++i) {
    Listener* listener = nullptr;
    if (plans[i].keep) {
      listener = std::exchange(old[*plans[i].keep], nullptr);
      if (listener != nullptr) {
        listener->setIndex(i);
      }
    } else {
      listener = Listener::open(*this, plans[i].fd, i);
    }
    listeners_.push_back(listener);
  }
  for (Listener* removed : old) {
    if (removed != nullptr) {
      removed->close();
    }
  }
  runtime_ = std::move(runtime);
  upstreams_->reconfigure(runtime_);
}

void Worker::startDrain() {
  if (draining_) {
    return;
  }
  draining_ = true;
  for (Listener* listener : listeners_) {
    if (listener != nullptr) {
      listener->sweepAndClose();
    }
  }
  listeners_.clear();
  std::vector<DownstreamConn*> conns(conns_.begin(), conns_.end());
  for (DownstreamConn* conn : conns) {
    conn->drain();
  }
  uint64_t timeout = static_cast<uint64_t>(runtime_->config->client_timeouts.drain.count());
  uv_timer_start(&drain_timer_, [](uv_timer_t* t) {
    auto* self = static_cast<Worker*>(t->data);
    EDGE_LOG_WARN("worker %u: drain timeout, closing %zu connections", self->id_,
                  self->conns_.size());
    std::vector<DownstreamConn*> left(self->conns_.begin(), self->conns_.end());
    for (DownstreamConn* conn : left) {
      conn->close();
    }
  }, timeout, 0);
  finishIfDrained();
}

void Worker::finishIfDrained() {
  if (!draining_ || !conns_.empty() || loop_handles_closed_) {
    return;
  }
  upstreams_->closeAll();
  closeLoopHandles();
}

void Worker::closeLoopHandles() {
  {
    std::lock_guard<std::mutex> lock(mailbox_mutex_);
    loop_handles_closed_ = true;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&mailbox_async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_timer_), nullptr);
}

void Worker::track(DownstreamConn* conn) {
  conns_.insert(conn);
  connection_counters_.connectionOpened();
}

void Worker::untrack(DownstreamConn* conn) {
  conns_.erase(conn);
  connection_counters_.connectionClosed();
  cancelContinue(conn);
  finishIfDrained();
}

void Worker::scheduleContinue(DownstreamConn* conn) {
  to_continue_.push_back(conn);
  armIdle();
}

void Worker::cancelContinue(DownstreamConn* conn) { std::erase(to_continue_, conn); }

void Worker::deferDelete(std::unique_ptr<Deferred> object) {
  graveyard_.push_back(std::move(object));
}

void Worker::onCheck() {
  // Destructors may defer more objects; swap first so the vector is not modified mid-clear.
  std::vector<std::unique_ptr<Deferred>> dead;
  dead.swap(graveyard_);
}

void Worker::armIdle() {
  if (!idle_active_ && !loop_handles_closed_) {
    idle_active_ = true;
    uv_idle_start(&idle_, [](uv_idle_t* h) { static_cast<Worker*>(h->data)->onIdle(); });
  }
}

void Worker::onIdle() {
  std::vector<DownstreamConn*> batch;
  batch.swap(to_continue_);
  for (size_t i = 0; i < batch.size(); ++i) {
    DownstreamConn* conn = batch[i];
    conn->continueAfterResponse();
  }
  if (to_continue_.empty()) {
    idle_active_ = false;
    uv_idle_stop(&idle_);
  }
}

}  // namespace edge
