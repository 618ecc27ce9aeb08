// Cache-Control (RFC 9111 section 5.2) parsed into a struct, for requests and responses.
// Unknown directives are ignored; a malformed delta-seconds makes that directive absent,
// except max-age, where RFC 9111 4.2.1 says an invalid value means stale (0).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace edge::cache {

struct CacheControl {
  bool no_store = false;
  bool no_cache = false;  // also set by the qualified form no-cache="Set-Cookie"
  bool is_private = false;
  bool is_public = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool no_transform = false;
  bool only_if_cached = false;
  bool immutable = false;
  std::optional<int64_t> max_age;   // seconds
  std::optional<int64_t> s_maxage;
  std::optional<int64_t> min_fresh;
  bool max_stale_any = false;       // "max-stale" without a value
  std::optional<int64_t> max_stale;
  std::optional<int64_t> stale_while_revalidate;  // RFC 5861
  std::optional<int64_t> stale_if_error;
};

// `value` is every Cache-Control field line joined with ", ". Directive names are
// case-insensitive; values may be quoted.
CacheControl parseCacheControl(std::string_view value);

}  // namespace edge::cache
