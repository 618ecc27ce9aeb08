// One thread = one uv_loop_t and everything it owns: listeners, client connections, upstream
// pools. Other threads talk to a worker only through post(). Worker-owned state needs no locks.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "filters/chain/services.h"
#include "lib/cache/http_date_cache.h"
#include "lib/cache/shared_cache.h"
#include "lib/http/request_id.h"
#include "proxy/access_log.h"
#include "proxy/connection_counters.h"
#include "proxy/request_counters.h"
#include "proxy/runtime.h"
#include "proxy/upstream_counters.h"

namespace edge {

class BackgroundEncoder;
class DownstreamConn;
class Listener;
namespace upstream {
class UpstreamSet;
}

// Anything whose destruction must wait until the current callback stack has unwound.
class Deferred {
 public:
  virtual ~Deferred() = default;
};

// How one listener of a new config snapshot comes about on a worker: an unchanged address
// keeps its socket (`keep`: its index in the old snapshot); a new one takes `fd`.
struct ListenerPlan {
  std::optional<size_t> keep;
  int fd = -1;
};

class Worker : public filters::WorkerMailbox {
 public:
  static constexpr size_t kReadBufferSize = 64 * 1024;

  Worker(unsigned id, RuntimePtr runtime, cache::SharedCachePtr cache, std::vector<int> listen_fds);
  ~Worker() override;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Called on the worker thread after its loop has ended (e.g. to wake the main thread).
  void setOnExit(std::function<void()> fn) { on_exit_ = std::move(fn); }
  // Before start(): finished requests go to `buffer` (the log outlives the worker).
  void setAccessLog(const config::AccessLogConfig& config, AccessLogBuffer& buffer) {
    access_log_ = std::make_unique<WorkerAccessLog>(config, buffer);
  }
  void start();
  void join();
  // Any thread. The closure runs on this worker's loop; it must not capture its owner.
  void post(std::function<void()> fn) override;
  // Any thread: stop accepting, let in-flight exchanges finish (bounded by the drain
  // timeout), then end the loop.
  void drain();
  // Any thread: switch to a new config snapshot. New connections and requests use it; those
  // in flight finish on theirs. `listeners` has one plan per listener of the new snapshot;
  // listeners it does not keep are closed after the new ones listen.
  void reconfigure(RuntimePtr runtime, std::vector<ListenerPlan> listeners);

  // Any thread may read them; only this worker's streams add to them.
  RequestCounters& requestCounters() { return request_counters_; }
  const RequestCounters& requestCounters() const { return request_counters_; }
  ConnectionCounters& connectionCounters() { return connection_counters_; }
  const ConnectionCounters& connectionCounters() const { return connection_counters_; }
  UpstreamCounters& upstreamCounters() { return upstream_counters_; }
  const UpstreamCounters& upstreamCounters() const { return upstream_counters_; }

  // Worker thread only below.
  unsigned id() const { return id_; }
  uv_loop_t* loop() { return &loop_; }
  const Runtime& runtime() const { return *runtime_; }
  const RuntimePtr& runtimePtr() const { return runtime_; }
  upstream::UpstreamSet& upstreams() { return *upstreams_; }
  cache::SharedCache& cache() { return *cache_; }
  BackgroundEncoder& encoder() { return *encoder_; }
  bool draining() const { return draining_; }
  char* readBuffer() { return read_buffer_.get(); }
  uint64_t nowMs() const { return uv_now(&loop_); }
  // "Date" for responses sent now (wall clock), formatted once per second.
  const std::string& httpDate() { return date_cache_.at(cache::wallClockMs()); }
  WorkerAccessLog* accessLog() { return access_log_.get(); }  // null: no access log
  http::RequestIdGenerator& requestIds() { return request_ids_; }

  void track(DownstreamConn* conn);
  void untrack(DownstreamConn* conn);
  // Runs conn->continueAfterResponse() once the current callback stack has unwound.
  void scheduleContinue(DownstreamConn* conn);
  void cancelContinue(DownstreamConn* conn);
  void deferDelete(std::unique_ptr<Deferred> object);

 private:
  void run();
  void onMailbox();
  void onIdle();
  void onCheck();
  void startDrain();
  void applyRuntime(RuntimePtr runtime, std::vector<ListenerPlan> listeners);
  void finishIfDrained();
  void closeLoopHandles();
  void armIdle();

  const unsigned id_;
  RuntimePtr runtime_;  // the current snapshot; replaced only on this worker's thread
  const cache::SharedCachePtr cache_;
  std::vector<int> listen_fds_;
  std::thread thread_;
  std::function<void()> on_exit_;
  uv_loop_t loop_;
  uv_async_t mailbox_async_;
  uv_idle_t idle_;    // runs pending continuations on the next loop turn
  uv_check_t check_;  // frees the graveyard after each poll phase
  uv_timer_t drain_timer_;
  bool idle_active_ = false;
  bool draining_ = false;
  bool loop_handles_closed_ = false;

  std::mutex mailbox_mutex_;
  std::vector<std::function<void()>> mailbox_;

  std::unique_ptr<WorkerAccessLog> access_log_;  // before the connections: they may log last
  http::RequestIdGenerator request_ids_;
  std::unique_ptr<char[]> read_buffer_;
  UpstreamCounters upstream_counters_;  // before upstreams_: their pools count into it
  std::unique_ptr<upstream::UpstreamSet> upstreams_;
  std::unique_ptr<BackgroundEncoder> encoder_;
  // By listener index in runtime_ (null where libuv refused one); each frees itself in its
  // close callback.
  std::vector<Listener*> listeners_;
  std::unordered_set<DownstreamConn*> conns_;
  std::vector<DownstreamConn*> to_continue_;
  std::vector<std::unique_ptr<Deferred>> graveyard_;
  cache::HttpDateCache date_cache_;
  RequestCounters request_counters_;
  ConnectionCounters connection_counters_;
};

}  // namespace edge
