// The cache state every worker shares: the store and the table of fetches in progress. It
// outlives config reloads, so it is not part of the Runtime snapshot.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include "config/config.h"
#include "lib/cache/coalescer.h"
#include "lib/cache/memory_store.h"

namespace edge::cache {

struct SharedCache {
  explicit SharedCache(const config::CacheConfig& cfg)
      : memory(cfg.memory, cfg.shards), coalescer(cfg.shards) {}
  SharedCache(const SharedCache&) = delete;
  SharedCache& operator=(const SharedCache&) = delete;

  MemoryStore memory;
  // What every user of the cache goes through: today the memory tier alone.
  Store& store = memory;
  Coalescer coalescer;
  // JSON responses that could not be projected to a field selection because the origin's
  // JSON is invalid; they are passed on unchanged.
  std::atomic<uint64_t> invalid_json{0};
};

using SharedCachePtr = std::shared_ptr<SharedCache>;

// Wall-clock milliseconds: the clock Date, Expires and Age are measured in.
inline int64_t wallClockMs() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace edge::cache
