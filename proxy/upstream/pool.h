// A worker's upstream state. Per upstream an UpstreamPool: its Balancer, per server a stack of
// idle keep-alive connections and a TLS session slot. Only clean connections enter (see
// UpstreamConn::finishExchange).
//
// Reload: the worker's UpstreamSet follows the current config snapshot. An upstream whose
// section is unchanged keeps its pool (idle connections, ejections, TLS sessions); a changed or
// removed one is retired: its idle connections close, and connections still serving requests
// that began before the reload close when they finish instead of being pooled.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <vector>

#include "lib/metrics/name_slots.h"
#include "proxy/runtime.h"
#include "proxy/tls/client_context.h"
#include "proxy/upstream/balancer.h"

namespace edge {
class UpstreamCounters;
}

namespace edge::upstream {

class UpstreamConn;

class UpstreamPool {
 public:
  // `counters`: the worker's, where the pool's idle connections are counted.
  UpstreamPool(RuntimePtr runtime, size_t upstream, UpstreamCounters& counters);
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // The snapshot this pool's connections read their settings, addresses and TLS from.
  const Runtime& runtime() const { return *runtime_; }
  size_t index() const { return upstream_; }
  const config::UpstreamConfig& config() const { return runtime_->config->upstreams[upstream_]; }

  Balancer& balancer() { return balancer_; }
  // Where TLS sessions with that server are kept for resumption.
  tls::ClientSessionSlot& sessionSlot(size_t server) { return *sessions_[server]; }
  // The most recently used idle connection to that address of the server, or null.
  UpstreamConn* takeIdle(size_t server, const sockaddr_storage& address);
  // Keeps the connection; closes the oldest idle one when over pool_max_idle. A retired pool
  // closes it instead.
  void putIdle(UpstreamConn* conn);
  // An idle connection closed by the server or its idle timer.
  void forget(UpstreamConn* conn);
  void closeIdle();

  bool retired() const { return retired_; }

 private:
  friend class UpstreamSet;
  // The same upstream, unchanged, in a newer snapshot (its index may differ).
  void adopt(RuntimePtr runtime, size_t upstream);
  // The active checks' view of this snapshot's servers, or null without checks.
  const ServerHealthView* healthView() const;
  void retire();

  RuntimePtr runtime_;
  size_t upstream_;
  Balancer balancer_;
  std::vector<std::deque<UpstreamConn*>> idle_;  // per server; back = most recent
  size_t idle_count_ = 0;
  std::vector<std::unique_ptr<tls::ClientSessionSlot>> sessions_;  // per server
  bool retired_ = false;
  UpstreamCounters& counters_;
  metrics::Slot slot_;  // the upstream's metrics slot (by name: the same across reloads)
};

using UpstreamPoolPtr = std::shared_ptr<UpstreamPool>;

class UpstreamSet {
 public:
  UpstreamSet(RuntimePtr runtime, UpstreamCounters& counters);
  ~UpstreamSet();
  UpstreamSet(const UpstreamSet&) = delete;
  UpstreamSet& operator=(const UpstreamSet&) = delete;

  // Follows a new snapshot (see the top of this file).
  void reconfigure(const RuntimePtr& runtime);
  // The pool for upstream `upstream` of `runtime`. A request that began before a reload asks
  // with its older snapshot: it gets the current pool of an identical upstream, or a retired
  // pool of its own that dies with its last connection.
  UpstreamPoolPtr poolFor(const RuntimePtr& runtime, size_t upstream);
  void closeAll();

 private:
  RuntimePtr runtime_;
  UpstreamCounters& counters_;
  std::vector<UpstreamPoolPtr> pools_;  // by upstream index in runtime_
};

}  // namespace edge::upstream
