#include "proxy/upstream/pool.h"

#include <algorithm>
#include <iterator>

#include "proxy/upstream/address_book.h"
#include "proxy/upstream_counters.h"
#include "proxy/upstream/upstream_conn.h"

namespace edge::upstream {

namespace {

Balancer balancerFor(const config::UpstreamConfig& cfg, const ServerHealthView* health) {
  return Balancer(cfg.servers.size(), cfg.max_fails, static_cast<uint64_t>(cfg.fail_timeout.count()),
                  health);
}

metrics::Slot slotOf(const Runtime& runtime, size_t upstream) {
  const auto& slots = runtime.upstream_slots;
  return upstream < slots.size() ? slots[upstream] : metrics::NameSlots::kOther;
}

}  // namespace

UpstreamPool::UpstreamPool(RuntimePtr runtime, size_t upstream, UpstreamCounters& counters)
    : runtime_(std::move(runtime)),
      upstream_(upstream),
      balancer_(balancerFor(config(), healthView())),
      idle_(config().servers.size()),
      counters_(counters),
      slot_(slotOf(*runtime_, upstream)) {
  for (size_t i = 0; i < config().servers.size(); ++i) {
    sessions_.push_back(std::make_unique<tls::ClientSessionSlot>());
  }
}

const ServerHealthView* UpstreamPool::healthView() const {
  return config().health_check ? &runtime_->addresses->upstream(upstream_) : nullptr;
}

UpstreamConn* UpstreamPool::takeIdle(size_t server, const sockaddr_storage& address) {
  std::deque<UpstreamConn*>& stack = idle_[server];
  for (auto it = stack.rbegin(); it != stack.rend(); ++it) {
    UpstreamConn* conn = *it;
    if (sameAddress(conn->address(), address)) {
      stack.erase(std::next(it).base());
      --idle_count_;
      counters_.idleRemoved(slot_, 1);
      return conn;
    }
  }
  return nullptr;
}

void UpstreamPool::putIdle(UpstreamConn* conn) {
  if (retired_) {
    conn->close();
    return;
  }
  idle_[conn->serverIndex()].push_back(conn);
  ++idle_count_;
  counters_.idleAdded(slot_, 1);
  if (idle_count_ <= config().pool_max_idle) {
    return;
  }
  // Over the limit: close the oldest idle connection of the fullest server.
  auto fullest = std::max_element(idle_.begin(), idle_.end(),
                                  [](const auto& a, const auto& b) { return a.size() < b.size(); });
  UpstreamConn* oldest = fullest->front();
  fullest->pop_front();
  --idle_count_;
  counters_.idleRemoved(slot_, 1);
  oldest->close();
}

void UpstreamPool::forget(UpstreamConn* conn) {
  std::deque<UpstreamConn*>& stack = idle_[conn->serverIndex()];
  auto it = std::find(stack.begin(), stack.end(), conn);
  if (it != stack.end()) {
    stack.erase(it);
    --idle_count_;
    counters_.idleRemoved(slot_, 1);
  }
}

void UpstreamPool::closeIdle() {
  for (std::deque<UpstreamConn*>& stack : idle_) {
    // close() never calls back into the pool, so the stack can be walked as it is.
    for (UpstreamConn* conn : stack) {
      conn->close();
    }
    stack.clear();
  }
  counters_.idleRemoved(slot_, idle_count_);
  idle_count_ = 0;
}

void UpstreamPool::adopt(RuntimePtr runtime, size_t upstream) {
  runtime_ = std::move(runtime);
  upstream_ = upstream;
  // The new snapshot has its own address book and checks: the old ones may go with the old
  // snapshot.
  balancer_.setHealth(healthView());
}

void UpstreamPool::retire() {
  retired_ = true;
  closeIdle();
}

UpstreamSet::UpstreamSet(RuntimePtr runtime, UpstreamCounters& counters)
    : runtime_(std::move(runtime)), counters_(counters) {
  for (size_t i = 0; i < runtime_->config->upstreams.size(); ++i) {
    pools_.push_back(std::make_shared<UpstreamPool>(runtime_, i, counters_));
  }
}

UpstreamSet::~UpstreamSet() { closeAll(); }

void UpstreamSet::reconfigure(const RuntimePtr& runtime) {
  std::vector<UpstreamPoolPtr> pools;
  for (size_t i = 0; i < runtime->config->upstreams.size(); ++i) {
    const config::UpstreamConfig& cfg = runtime->config->upstreams[i];
    auto same = std::find_if(pools_.begin(), pools_.end(), [&](const UpstreamPoolPtr& pool) {
      return pool != nullptr && pool->config() == cfg;
    });
    if (same != pools_.end()) {
      (*same)->adopt(runtime, i);
      pools.push_back(std::move(*same));
    } else {
      pools.push_back(std::make_shared<UpstreamPool>(runtime, i, counters_));
    }
  }
  for (UpstreamPoolPtr& old : pools_) {
    if (old != nullptr) {
      old->retire();
    }
  }
  pools_ = std::move(pools);
  runtime_ = runtime;
}

UpstreamPoolPtr UpstreamSet::poolFor(const RuntimePtr& runtime, size_t upstream) {
  if (runtime == runtime_) {
    return pools_[upstream];
  }
  const config::UpstreamConfig& cfg = runtime->config->upstreams[upstream];
  for (const UpstreamPoolPtr& pool : pools_) {
    if (pool->config() == cfg) {
      return pool;
    }
  }
  // Removed or changed since: a pool of its own, retired from the start, that lives as long as
  // its connections.
  auto pool = std::make_shared<UpstreamPool>(runtime, upstream, counters_);
  pool->retire();
  return pool;
}

void UpstreamSet::closeAll() {
  for (UpstreamPoolPtr& pool : pools_) {
    pool->closeIdle();
  }
}

}  // namespace edge::upstream
