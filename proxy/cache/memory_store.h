// The shared response store: sharded by key hash, one lock per shard, bounded by one byte
// budget (split evenly over the shards) that counts everything an entry holds. Eviction is
// SIEVE (a FIFO with a visited bit and a moving hand), which keeps popular objects better
// than LRU on skewed traffic and makes a hit a bit flip instead of a list move.
// Purge by key, tag or glob costs in proportion to what matches: tags and keys are indexed in
// ordered maps, so a pattern with a literal prefix scans only that prefix range.
// Thread-safe; no event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/cache/entry.h"

namespace edge::cache {

struct StoreStats {
  uint64_t entries = 0;  // variants stored
  uint64_t bytes = 0;    // sum of charge()
  uint64_t budget = 0;
  uint64_t inserts = 0;
  uint64_t evictions = 0;
  uint64_t purged = 0;   // removed or invalidated by purges
  uint64_t rejected = 0; // single entries larger than a shard's budget
};

enum class PurgeMode {
  Hard,  // remove now
  Soft,  // mark invalidated: served stale only through revalidation (or stale-while-revalidate)
};

class MemoryStore {
 public:
  MemoryStore(uint64_t budget_bytes, unsigned shards);
  ~MemoryStore();
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // The variant of `key` that `matches` accepts (Vary), or null. Marks it visited.
  EntryPtr lookup(std::string_view key,
                  const std::function<bool(const CachedEntry&)>& matches);

  // Stores `entry`, replacing a variant of the same key with equal vary_values, then evicts
  // unvisited entries from the shard until it fits its budget. Returns false (and stores
  // nothing) when the entry alone is larger than a shard's budget.
  bool insert(EntryPtr entry);

  // Every variant of `key`. Returns how many were affected.
  size_t purgeKey(std::string_view key, PurgeMode mode);
  // Every entry carrying `tag`.
  size_t purgeTag(std::string_view tag, PurgeMode mode);
  // Every entry with a tag or a key matching the glob `pattern` (fnmatch(3), no flags).
  size_t purgeGlob(std::string_view pattern, PurgeMode mode);
  // Everything (e.g. after a gap in the invalidation feed).
  size_t purgeAll(PurgeMode mode);

  StoreStats stats() const;

 private:
  struct Shard;
  Shard& shardFor(std::string_view key);
  std::vector<std::unique_ptr<Shard>> shards_;
  uint64_t budget_;
};

}  // namespace edge::cache
