// The recent purges, numbered in the order they ran. A fetch notes the current number when
// its request goes upstream; when its response is stored, only the purges numbered after that
// are checked against it. So a response fetched before an invalidation is never stored as
// fresh after it, and nothing is checked on lookups. Thread-safe; no event loop.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "lib/cache/entry.h"

namespace edge::cache {

enum class PurgeMode {
  Hard,  // remove now
  Soft,  // mark invalidated: served stale only through revalidation (or stale-while-revalidate)
};

enum class PurgeTarget { Key, Tag, Glob, All };

struct PurgeRecord {
  uint64_t generation = 0;
  PurgeTarget target = PurgeTarget::All;
  std::string text;  // the key, tag or glob
  PurgeMode mode = PurgeMode::Hard;

  bool matches(const CachedEntry& entry) const;
};

// fnmatch(3) without flags; both strings NUL-terminated.
bool globMatches(const std::string& pattern, const std::string& candidate);
bool anyTagMatches(const CachedEntry& entry, const std::string& pattern);
bool hasTag(const CachedEntry& entry, std::string_view tag);

class PurgeLog {
 public:
  enum class Verdict {
    Keep,        // no later purge names it
    Invalidate,  // a later soft purge names it, or the history that far back is gone
    Drop,        // a later hard purge names it
  };

  explicit PurgeLog(size_t capacity = 8192) : capacity_(capacity) {}

  // The number of the latest purge; 1 before any. A fetch stamps its entry with it.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  // Numbers and keeps a purge (forgetting the oldest beyond the capacity); returns its number.
  uint64_t record(PurgeTarget target, std::string_view text, PurgeMode mode);

  // What the purges numbered after `stamp` mean for `entry`.
  Verdict check(const CachedEntry& entry, uint64_t stamp) const;

 private:
  const size_t capacity_;
  mutable std::shared_mutex mutex_;
  std::deque<PurgeRecord> records_;  // consecutive generations, oldest first
  std::atomic<uint64_t> generation_{1};
};

}  // namespace edge::cache
