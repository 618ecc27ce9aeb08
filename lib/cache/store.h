// The cache's store as its users see it: lookups answer through a callback, so a tier that is
// not in memory (a Redis L2) can be added behind it without changing a caller. The memory
// store answers inline; a remote tier answers later, on the caller's worker. A caller that may
// be gone by then guards its callback (a weak token), so a cancelled wait never runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "lib/cache/entry.h"
#include "lib/cache/purge_log.h"

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

class Store {
 public:
  using Matcher = std::function<bool(const CachedEntry&)>;
  using Found = std::function<void(EntryPtr)>;

  virtual ~Store() = default;

  // The variant of `key` that `matches` accepts (Vary), or null, handed to `found`: inline or
  // later (see above). Counts as a use of the entry for eviction.
  virtual void lookup(std::string_view key, Matcher matches, Found found) = 0;
  // Stores `entry` (see MemoryStore::insert for what may refuse it).
  virtual bool insert(EntryPtr entry) = 0;
  // Every variant of `key`, without counting a use (for inspection).
  virtual std::vector<EntryPtr> peek(std::string_view key) = 0;

  // The number of the latest purge, and whether one since `stamp` names `probe`.
  virtual uint64_t generation() const = 0;
  virtual bool purgedSince(const CachedEntry& probe, uint64_t stamp) const = 0;
  virtual size_t purgeKey(std::string_view key, PurgeMode mode) = 0;
  virtual size_t purgeTag(std::string_view tag, PurgeMode mode) = 0;
  virtual size_t purgeGlob(std::string_view pattern, PurgeMode mode) = 0;
  virtual size_t purgeAll(PurgeMode mode) = 0;
  // Removes every variant `doomed` selects, walking the whole store: for rare administrative
  // use (a reload dropping the entries of route classes it removed), never per request. Not a
  // purge: it leaves no mark in the purge log.
  virtual size_t removeIf(const std::function<bool(const CachedEntry&)>& doomed) = 0;

  virtual StoreStats stats() const = 0;
};

}  // namespace edge::cache
