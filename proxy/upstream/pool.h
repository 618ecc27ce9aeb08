// A worker's upstream state: per upstream a Balancer, per server a stack of idle keep-alive
// connections. Only clean connections enter (see UpstreamConn::finishExchange).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <vector>

#include "lib/metrics/name_slots.h"
#include "proxy/tls/client_context.h"
#include "proxy/upstream/balancer.h"

namespace edge {
class UpstreamCounters;
class Worker;
}

namespace edge::upstream {

class UpstreamConn;

class UpstreamSet {
 public:
  explicit UpstreamSet(Worker& worker);
  ~UpstreamSet();
  UpstreamSet(const UpstreamSet&) = delete;
  UpstreamSet& operator=(const UpstreamSet&) = delete;

  Balancer& balancer(size_t upstream) { return upstreams_[upstream].balancer; }
  // Where TLS sessions with that server are kept for resumption.
  tls::ClientSessionSlot& sessionSlot(size_t upstream, size_t server) {
    return *upstreams_[upstream].sessions[server];
  }
  // The most recently used idle connection to that server, or null.
  UpstreamConn* takeIdle(size_t upstream, size_t server);
  // Keeps the connection; closes the oldest idle one when over pool_max_idle.
  void putIdle(UpstreamConn* conn);
  // An idle connection closed by the server or its idle timer.
  void forget(UpstreamConn* conn);
  void closeAll();

 private:
  struct PerUpstream {
    Balancer balancer;
    std::vector<std::deque<UpstreamConn*>> idle;  // per server; back = most recent
    size_t idle_count = 0;
    size_t max_idle = 0;
    std::vector<std::unique_ptr<tls::ClientSessionSlot>> sessions;  // per server
    metrics::Slot slot = metrics::NameSlots::kOther;  // where its idle count is shown
  };
  UpstreamCounters& counters_;
  std::vector<PerUpstream> upstreams_;
};

}  // namespace edge::upstream
