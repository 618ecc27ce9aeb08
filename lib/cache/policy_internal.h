// Pieces of the caching policy shared between its source files; not an interface for the
// rest of the proxy (use policy.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "config/config.h"
#include "lib/cache/cache_control.h"
#include "lib/http/headers.h"

namespace edge::cache::detail {

// delta-seconds (RFC 9111 1.2.2): digits only, capped at 2^31; nullopt when malformed.
std::optional<int64_t> parseDeltaSeconds(std::string_view text);

// What fillFreshness stores, computed without an entry so decideStore can ask too.
struct Freshness {
  int64_t lifetime_ms = 0;
  int64_t stale_while_revalidate_ms = 0;
  int64_t stale_if_error_ms = 0;
  bool must_revalidate = false;
  int64_t corrected_initial_age_ms = 0;
};

Freshness computeFreshness(const http::Headers& headers, const CacheControl& cc,
                           const config::RouteClass& route_class, int64_t request_time_ms,
                           int64_t response_time_ms);

}  // namespace edge::cache::detail
