// The table of fetches in progress, shared by all workers: the first request for a key
// leads (its fetch fills the cache), later ones follow the same InFlight. An answer that
// turned out uncacheable leaves a short-lived hit-for-miss marker, so later requests for that
// key go straight upstream instead of queueing behind a leader. Sharded; thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/cache/inflight.h"

namespace edge::cache {

class Coalescer {
 public:
  enum class Role {
    Leader,      // start the fetch for `flight`, then finish() it
    Follower,    // subscribe to `flight`
    HitForMiss,  // recently uncacheable: fetch alone, do not queue
  };
  struct Joined {
    Role role;
    InFlightPtr flight;  // null for HitForMiss
  };

  explicit Coalescer(unsigned shards = 16);

  Joined join(const std::string& key, int64_t now_ms);
  // The fetch is over; later requests no longer join it (they find the entry in the store).
  void finish(const InFlightPtr& flight);
  void markUncacheable(const std::string& key, int64_t now_ms, int64_t until_ms);
  void clearUncacheable(const std::string& key);
  size_t inFlightCount() const;
  // Requests that joined a fetch as followers since start (admin /stats; tests wait on it).
  uint64_t followersJoined() const { return followers_.load(std::memory_order_relaxed); }

 private:
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, InFlightPtr> flights;
    std::unordered_map<std::string, int64_t> uncacheable_until;
  };
  Shard& shardFor(const std::string& key);
  static void pruneExpired(Shard& shard, int64_t now_ms);

  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<uint64_t> followers_{0};
};

}  // namespace edge::cache
