#include "lib/cache/coalescer.h"

#include <functional>

namespace edge::cache {
namespace {

constexpr size_t kPruneThreshold = 4096;  // markers per shard before expired ones are dropped

}  // namespace

Coalescer::Coalescer(unsigned shards) {
  for (unsigned i = 0; i < (shards == 0 ? 1 : shards); ++i) {
    shards_.push_back(std::make_unique<Shard>());
  }
}

Coalescer::Shard& Coalescer::shardFor(const std::string& key) {
  return *shards_[std::hash<std::string>{}(key) % shards_.size()];
}

Coalescer::Joined Coalescer::join(const std::string& key, int64_t now_ms) {
  Shard& shard = shardFor(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto marker = shard.uncacheable_until.find(key);
  if (marker != shard.uncacheable_until.end()) {
    if (marker->second > now_ms) {
      return {Role::HitForMiss, nullptr};
    }
    shard.uncacheable_until.erase(marker);
  }
  auto it = shard.flights.find(key);
  if (it != shard.flights.end()) {
    followers_.fetch_add(1, std::memory_order_relaxed);
    return {Role::Follower, it->second};
  }
  auto flight = std::make_shared<InFlight>(key);
  shard.flights.emplace(key, flight);
  return {Role::Leader, flight};
}

void Coalescer::finish(const InFlightPtr& flight) {
  Shard& shard = shardFor(flight->key());
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.flights.find(flight->key());
  if (it != shard.flights.end() && it->second == flight) {
    shard.flights.erase(it);
  }
}

void Coalescer::markUncacheable(const std::string& key, int64_t now_ms, int64_t until_ms) {
  Shard& shard = shardFor(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  if (shard.uncacheable_until.size() >= kPruneThreshold) {
    pruneExpired(shard, now_ms);
  }
  shard.uncacheable_until[key] = until_ms;
}

void Coalescer::clearUncacheable(const std::string& key) {
  Shard& shard = shardFor(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  shard.uncacheable_until.erase(key);
}

void Coalescer::pruneExpired(Shard& shard, int64_t now_ms) {
  std::erase_if(shard.uncacheable_until, [&](const auto& kv) { return kv.second <= now_ms; });
}

size_t Coalescer::inFlightCount() const {
  size_t n = 0;
  for (const auto& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard->mutex);
    n += shard->flights.size();
  }
  return n;
}

}  // namespace edge::cache
