// The shared response store: sharded by key hash, one lock per shard, bounded by one byte
// budget (split evenly over the shards) that counts everything an entry holds. Eviction is
// SIEVE (a FIFO with a visited bit and a moving hand), which keeps popular objects better
// than LRU on skewed traffic and makes a hit a bit flip instead of a list move.
// Purge by key, tag or glob costs in proportion to what matches: tags and keys are indexed in
// ordered maps, so a pattern with a literal prefix scans only that prefix range.
// Every purge is also numbered in a PurgeLog: an entry whose request started before a purge
// that names it is dropped or invalidated when it is stored (see purge_log.h). A soft purge of
// everything only moves an epoch: entries stamped before it count as invalidated on lookup.
// Thread-safe; no event loop.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/cache/entry.h"
#include "lib/cache/purge_log.h"
#include "lib/cache/store.h"

namespace edge::cache {

class MemoryStore final : public Store {
 public:
  MemoryStore(uint64_t budget_bytes, unsigned shards);
  ~MemoryStore() override;
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // The variant of `key` that `matches` accepts (Vary), or null. Marks it visited.
  EntryPtr lookup(std::string_view key,
                  const std::function<bool(const CachedEntry&)>& matches);
  // Store: answers inline.
  void lookup(std::string_view key, Matcher matches, Found found) override {
    found(lookup(key, matches));
  }

  // Every variant of `key`, without marking anything visited (for inspection).
  std::vector<EntryPtr> peek(std::string_view key) override;

  // Stores `entry`, replacing a variant of the same key with equal vary_values, then evicts
  // unvisited entries from the shard until it fits its budget. Returns false (and stores
  // nothing) when the entry alone is larger than a shard's budget, or when a hard purge that
  // ran after entry->generation names it (one that a soft purge names is stored invalidated).
  bool insert(EntryPtr entry) override;

  // The number of the latest purge: what a fetch stamps its entry with (CachedEntry::generation).
  uint64_t generation() const override { return log_.generation(); }

  // True when a purge that ran after `stamp` names `probe` (its key and tags), or everything
  // fetched before a later soft purge of all must revalidate: a response fetched from `stamp`
  // on is then out of date for anyone who asks now.
  bool purgedSince(const CachedEntry& probe, uint64_t stamp) const override;

  // Every variant of `key`. Returns how many were affected.
  size_t purgeKey(std::string_view key, PurgeMode mode) override;
  // Every entry carrying `tag`.
  size_t purgeTag(std::string_view tag, PurgeMode mode) override;
  // Every entry with a tag or a key matching the glob `pattern` (fnmatch(3), no flags).
  size_t purgeGlob(std::string_view pattern, PurgeMode mode) override;
  // Everything (e.g. after a gap in the invalidation feed). Soft costs the same at any size.
  size_t purgeAll(PurgeMode mode) override;
  size_t removeIf(const std::function<bool(const CachedEntry&)>& doomed) override;

  StoreStats stats() const override;

 private:
  struct Shard;
  Shard& shardFor(std::string_view key);
  void markIfBeforeEpoch(const EntryPtr& entry, uint64_t stamp) const;

  std::vector<std::unique_ptr<Shard>> shards_;
  uint64_t budget_;
  PurgeLog log_;
  // Entries stamped before this generation are invalidated (the last soft purge of all).
  std::atomic<uint64_t> soft_epoch_{0};
};

}  // namespace edge::cache
