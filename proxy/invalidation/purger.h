// Applies invalidation messages and admin purges to the shared store, and counts them.
// Used on the main thread; the store is thread-safe, so once apply() returns no worker finds
// a removed entry, nor an invalidated one without revalidating it.
#pragma once

#include <cstddef>
#include <string_view>

#include "lib/cache/store.h"
#include "lib/invalidation/backoff.h"
#include "lib/invalidation/log_limiter.h"
#include "lib/invalidation/message.h"
#include "lib/invalidation/stats.h"

namespace edge::invalidation {

class Purger {
 public:
  Purger(cache::Store& store, InvalidationStats& stats, size_t max_message_bytes)
      : store_(store), stats_(stats), max_message_bytes_(max_message_bytes) {}

  // One message from Redis: parsed, counted and applied. A malformed one is logged with the
  // reason and `source` (channel or stream id), counted, and purges nothing.
  void onMessage(std::string_view payload, std::string_view source);
  // A reload changed invalidation.max_message_size.
  void setMaxMessageBytes(size_t bytes) { max_message_bytes_ = bytes; }
  // A message that was malformed before it could be parsed (a stream entry without the field).
  void onMalformed(std::string_view payload, std::string_view source, const std::string& reason);

  // Returns the number of entries removed or invalidated.
  size_t apply(const PurgeCommand& command);

  // The gap policy's action, after `down_ms` without the feed.
  void applyGap(GapAction action, int64_t down_ms);

  cache::Store& store() { return store_; }

 private:
  cache::Store& store_;
  InvalidationStats& stats_;
  size_t max_message_bytes_;
  LogLimiter malformed_log_{10, 10'000};
};

}  // namespace edge::invalidation
