// Counters of the invalidation feed and of admin purges, for the admin API's /stats. Written
// and read on the main thread only (the subscriber, the purger and the admin listener all
// live on its loop), so plain fields.
#pragma once

#include <cstdint>
#include <string>

namespace edge::invalidation {

struct InvalidationStats {
  bool configured = false;    // an invalidation section exists
  std::string mode;           // "pubsub" or "stream"
  std::string address;        // of Redis
  bool connected = false;
  bool subscribed = false;    // subscriptions confirmed, or the stream being read
  uint64_t connects = 0;      // connections that reached the subscribed state
  uint64_t reconnects = 0;    // ...after a lost or failed one
  uint64_t connect_failures = 0;
  uint64_t disconnects = 0;   // subscribed connections lost

  uint64_t messages = 0;      // from Redis, malformed ones included
  uint64_t malformed = 0;
  std::string last_malformed_reason;
  uint64_t purges = 0;        // purge commands applied (Redis and admin)
  uint64_t admin_purges = 0;
  uint64_t purged_entries = 0;  // entries removed or invalidated by those commands
  int64_t last_message_ms = 0;  // wall clock, when the last message was applied
  int64_t last_applied_us = 0;  // the same in microseconds (for propagation measurements)
  std::string stream_last_id;

  uint64_t gaps = 0;            // reconnects after which the gap policy ran
  int64_t last_gap_ms = 0;      // wall clock, when it last ran
  int64_t last_gap_down_ms = 0; // how long the feed was down before that
  std::string last_gap_action;
  uint64_t last_gap_entries = 0;
};

}  // namespace edge::invalidation
