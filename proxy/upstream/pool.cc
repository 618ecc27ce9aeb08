#include "proxy/upstream/pool.h"

#include <algorithm>

#include "proxy/upstream/upstream_conn.h"
#include "proxy/worker.h"

namespace edge::upstream {

UpstreamSet::UpstreamSet(Worker& worker) : counters_(worker.upstreamCounters()) {
  const Runtime& runtime = worker.runtime();
  for (const config::UpstreamConfig& cfg : runtime.config->upstreams) {
    PerUpstream u{Balancer(cfg.servers.size(), cfg.max_fails,
                           static_cast<uint64_t>(cfg.fail_timeout.count())),
                  std::vector<std::deque<UpstreamConn*>>(cfg.servers.size()), 0,
                  cfg.pool_max_idle, {}};
    for (size_t i = 0; i < cfg.servers.size(); ++i) {
      u.sessions.push_back(std::make_unique<tls::ClientSessionSlot>());
    }
    if (upstreams_.size() < runtime.upstream_slots.size()) {
      u.slot = runtime.upstream_slots[upstreams_.size()];
    }
    upstreams_.push_back(std::move(u));
  }
}

UpstreamSet::~UpstreamSet() { closeAll(); }

UpstreamConn* UpstreamSet::takeIdle(size_t upstream, size_t server) {
  PerUpstream& u = upstreams_[upstream];
  std::deque<UpstreamConn*>& stack = u.idle[server];
  if (stack.empty()) {
    return nullptr;
  }
  UpstreamConn* conn = stack.back();
  stack.pop_back();
  --u.idle_count;
  counters_.idleRemoved(u.slot, 1);
  return conn;
}

void UpstreamSet::putIdle(UpstreamConn* conn) {
  PerUpstream& u = upstreams_[conn->upstreamIndex()];
  u.idle[conn->serverIndex()].push_back(conn);
  ++u.idle_count;
  counters_.idleAdded(u.slot, 1);
  if (u.idle_count <= u.max_idle) {
    return;
  }
  // Over the limit: close the oldest idle connection of the fullest server.
  auto fullest = std::max_element(u.idle.begin(), u.idle.end(),
                                  [](const auto& a, const auto& b) { return a.size() < b.size(); });
  UpstreamConn* oldest = fullest->front();
  fullest->pop_front();
  --u.idle_count;
  counters_.idleRemoved(u.slot, 1);
  oldest->close();
}

void UpstreamSet::forget(UpstreamConn* conn) {
  PerUpstream& u = upstreams_[conn->upstreamIndex()];
  std::deque<UpstreamConn*>& stack = u.idle[conn->serverIndex()];
  auto it = std::find(stack.begin(), stack.end(), conn);
  if (it != stack.end()) {
    stack.erase(it);
    --u.idle_count;
    counters_.idleRemoved(u.slot, 1);
  }
}

void UpstreamSet::closeAll() {
  for (PerUpstream& u : upstreams_) {
    for (std::deque<UpstreamConn*>& stack : u.idle) {
      for (UpstreamConn* conn : stack) {
        conn->close();
      }
      stack.clear();
    }
    counters_.idleRemoved(u.slot, u.idle_count);
    u.idle_count = 0;
  }
}

}  // namespace edge::upstream
