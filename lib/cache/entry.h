// One stored response. Immutable once inserted and shared as shared_ptr<const CachedEntry>,
// so a reader can keep streaming an entry that is being evicted or purged. A revalidation
// builds a new entry that shares the body. Pure data: no I/O, no event loop.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lib/http/headers.h"

namespace edge::cache {

using Body = std::shared_ptr<const std::string>;

struct CachedEntry {
  std::string key;  // primary key (see key.h); variants of one key differ in vary_values
  int status = 200;
  std::string reason;
  http::Headers headers;  // as the origin sent them, hop-by-hop removed, no Age
  Body body;              // de-chunked

  // Secondary key: for each header the response varies on, (lower-case name, normalised
  // request value) as they were on the request that fetched this response.
  std::vector<std::pair<std::string, std::string>> vary_values;

  // RFC 9111 section 4.2.3, wall-clock milliseconds since the epoch.
  int64_t request_time_ms = 0;   // when the request that produced it was sent upstream
  int64_t response_time_ms = 0;  // when its response head arrived
  int64_t corrected_initial_age_ms = 0;

  int64_t freshness_lifetime_ms = 0;
  int64_t stale_while_revalidate_ms = 0;
  int64_t stale_if_error_ms = 0;
  bool must_revalidate = false;  // must-revalidate / proxy-revalidate / s-maxage: no stale use
  bool no_cache = false;         // stored, but every use needs a successful revalidation

  // The stored headers already serialised for serving ("Name: value\r\n" lines, without
  // Age and framing headers): a hit writes them as they are. Filled by whoever stores it.
  std::string wire_headers;

  // Compressed forms of the body, each made once on first demand and kept with the entry
  // (a new entry replaces this one in the store, so the memory budget counts them):
  // [0] gzip, [1] Brotli. Each has its own serialised header block (Content-Encoding, the
  // variant's ETag).
  struct Encoded {
    Body body;
    std::string wire_headers;
  };
  std::array<std::shared_ptr<const Encoded>, 2> encoded;

  std::string etag;           // validators, for conditional revalidation upstream
  std::string last_modified;
  std::vector<std::string> tags;
  std::string route_class;  // the name of the class that stored it (a reload may remove it)

  // A projection (sparse fieldset) of another entry is stored under its own key and used only
  // with the representation it was cut from: that entry's body (compared by identity; a weak
  // reference does not keep it alive) and response time (a revalidation changes it).
  std::weak_ptr<const std::string> projected_from;
  int64_t projected_from_time_ms = 0;
  // The store's purge generation when the request that fetched it went upstream
  // (MemoryStore::generation()); purges numbered after it are checked when it is stored.
  // 0: unknown, taken as "now" by the store.
  uint64_t generation = 0;

  // Set by a soft purge (or a gap in the invalidation stream): the entry must be treated as
  // stale from now on. The only mutable part; readers load it relaxed.
  mutable std::atomic<bool> invalidated{false};

  // Bytes counted against the cache budget: what the entry really costs in memory. Every
  // heap block it owns (strings by capacity, not size; vectors; shared_ptr control blocks) as
  // malloc rounds it, plus the store's index entries for its key and tags.
  size_t charge() const;
};

using EntryPtr = std::shared_ptr<const CachedEntry>;

// Headers serialised for serving ("Name: value\r\n" lines) without Age, Date and the framing
// headers, which every answer writes itself (Date: the time of sending; the entry's `headers`
// keep the origin's Date for age math): the form of CachedEntry::wire_headers.
std::string wireHeaderBlock(const http::Headers& headers);

// A modifiable copy (the atomic flag makes CachedEntry non-copyable), for building a new
// entry from an old one before it is shared.
std::shared_ptr<CachedEntry> cloneEntry(const CachedEntry& from);

}  // namespace edge::cache
