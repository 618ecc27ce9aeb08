// Freshness lifetime, age (RFC 9111 4.2) and the stale extensions of RFC 5861.
#include <algorithm>

#include "lib/cache/policy.h"
#include "lib/cache/policy_internal.h"

namespace edge::cache {
namespace {

constexpr int64_t kMsPerSecond = 1000;
constexpr int64_t kHeuristicCapMs = 24 * 3600 * kMsPerSecond;  // RFC 9111 4.2.2 suggests a day

int64_t seconds(int64_t s) { return s * kMsPerSecond; }

// Date from the origin, else when the response arrived (RFC 9111 4.2.3 date_value).
int64_t dateMs(const http::Headers& headers, int64_t response_time_ms) {
  const std::string* date = headers.find("date");
  std::optional<int64_t> parsed = date != nullptr ? parseHttpDate(*date) : std::nullopt;
  return parsed.value_or(response_time_ms);
}

int64_t ageHeaderMs(const http::Headers& headers) {
  const std::string* age = headers.find("age");
  if (age == nullptr) {
    return 0;
  }
  return seconds(detail::parseDeltaSeconds(*age).value_or(0));
}

// RFC 9111 4.2.3.
int64_t correctedInitialAge(const http::Headers& headers, int64_t date_ms,
                            int64_t request_time_ms, int64_t response_time_ms) {
  const int64_t apparent_age = std::max<int64_t>(0, response_time_ms - date_ms);
  const int64_t response_delay = std::max<int64_t>(0, response_time_ms - request_time_ms);
  const int64_t corrected_age_value = ageHeaderMs(headers) + response_delay;
  return std::max(apparent_age, corrected_age_value);
}

// s-maxage, max-age, then Expires - Date; nullopt when the origin gave none.
std::optional<int64_t> originLifetime(const http::Headers& headers, const CacheControl& cc,
                                      int64_t date_ms) {
  if (cc.s_maxage) {
    return seconds(*cc.s_maxage);
  }
  if (cc.max_age) {
    return seconds(*cc.max_age);
  }
  const std::string* expires = headers.find("expires");
  if (expires == nullptr) {
    return std::nullopt;
  }
  // RFC 9111 5.3: an invalid Expires ("0", "-1") means already expired.
  const std::optional<int64_t> at = parseHttpDate(*expires);
  return at ? std::max<int64_t>(0, *at - date_ms) : 0;
}

// RFC 9111 4.2.2: a tenth of the time since Last-Modified.
std::optional<int64_t> heuristicLifetime(const http::Headers& headers, int64_t date_ms) {
  const std::string* last_modified = headers.find("last-modified");
  const std::optional<int64_t> at =
      last_modified != nullptr ? parseHttpDate(*last_modified) : std::nullopt;
  if (!at || *at >= date_ms) {
    return std::nullopt;
  }
  return std::min((date_ms - *at) / 10, kHeuristicCapMs);
}

int64_t lifetimeMs(const http::Headers& headers, const CacheControl& cc,
                   const config::RouteClass& route_class, int64_t date_ms) {
  const int64_t class_ttl = std::max<int64_t>(0, route_class.ttl.count());
  if (route_class.override_origin && class_ttl > 0) {
    return class_ttl;
  }
  if (std::optional<int64_t> origin = originLifetime(headers, cc, date_ms)) {
    return *origin;
  }
  if (route_class.heuristic_freshness) {
    if (std::optional<int64_t> heuristic = heuristicLifetime(headers, date_ms)) {
      return *heuristic;
    }
  }
  return class_ttl;
}

int64_t currentAge(const CachedEntry& entry, int64_t now_ms) {
  const int64_t resident = std::max<int64_t>(0, now_ms - entry.response_time_ms);
  return entry.corrected_initial_age_ms + resident;
}

// The client wants something fresher than this entry can be without asking the origin.
bool requestDemandsFresher(const CacheControl& request_cc, int64_t age_ms, int64_t lifetime_ms) {
  if (request_cc.no_cache) {
    return true;
  }
  if (request_cc.max_age && age_ms > seconds(*request_cc.max_age)) {
    return true;
  }
  return request_cc.min_fresh && lifetime_ms - age_ms < seconds(*request_cc.min_fresh);
}

bool maxStaleAllows(const CacheControl& request_cc, int64_t staleness_ms) {
  return request_cc.max_stale_any ||
         (request_cc.max_stale && staleness_ms <= seconds(*request_cc.max_stale));
}

}  // namespace

namespace detail {

Freshness computeFreshness(const http::Headers& headers, const CacheControl& cc,
                           const config::RouteClass& route_class, int64_t request_time_ms,
                           int64_t response_time_ms) {
  Freshness f;
  const int64_t date_ms = dateMs(headers, response_time_ms);
  f.corrected_initial_age_ms =
      correctedInitialAge(headers, date_ms, request_time_ms, response_time_ms);
  f.lifetime_ms = lifetimeMs(headers, cc, route_class, date_ms);
  // s-maxage carries proxy-revalidate's meaning for a shared cache (RFC 9111 5.2.2.10).
  f.must_revalidate = cc.must_revalidate || cc.proxy_revalidate || cc.s_maxage.has_value();
  if (!f.must_revalidate) {
    f.stale_while_revalidate_ms = cc.stale_while_revalidate
                                      ? seconds(*cc.stale_while_revalidate)
                                      : route_class.stale_while_revalidate.count();
    f.stale_if_error_ms =
        cc.stale_if_error ? seconds(*cc.stale_if_error) : route_class.stale_if_error.count();
  }
  return f;
}

}  // namespace detail

void fillFreshness(CachedEntry& entry, const config::RouteClass& route_class,
                   int64_t request_time_ms, int64_t response_time_ms) {
  const CacheControl cc = parseCacheControl(entry.headers.joined("cache-control"));
  const detail::Freshness f =
      detail::computeFreshness(entry.headers, cc, route_class, request_time_ms, response_time_ms);
  entry.request_time_ms = request_time_ms;
  entry.response_time_ms = response_time_ms;
  entry.corrected_initial_age_ms = f.corrected_initial_age_ms;
  entry.freshness_lifetime_ms = f.lifetime_ms;
  entry.stale_while_revalidate_ms = f.stale_while_revalidate_ms;
  entry.stale_if_error_ms = f.stale_if_error_ms;
  entry.must_revalidate = f.must_revalidate;
  entry.no_cache = cc.no_cache;
  const std::string* etag = entry.headers.find("etag");
  const std::string* last_modified = entry.headers.find("last-modified");
  entry.etag = etag != nullptr ? *etag : std::string();
  entry.last_modified = last_modified != nullptr ? *last_modified : std::string();
  // Now folded into corrected_initial_age; Age is recomputed whenever the entry is served.
  entry.headers.remove("age");
}

Evaluation evaluate(const CachedEntry& entry, const CacheControl& request_cc, int64_t now_ms) {
  Evaluation result;
  const int64_t age = currentAge(entry, now_ms);
  const int64_t lifetime = entry.freshness_lifetime_ms;
  const bool invalidated = entry.invalidated.load(std::memory_order_relaxed);
  const bool stale = invalidated || lifetime <= age;
  const bool stale_allowed = !entry.must_revalidate && !entry.no_cache;
  // A soft purge makes the entry stale now, whatever its lifetime said; windows still count
  // from the end of that lifetime, but only when the window is configured at all.
  auto within = [&](int64_t window) { return window > 0 && age < lifetime + window; };
  const bool stale_on_error_allowed =
      within(entry.stale_if_error_ms) || maxStaleAllows(request_cc, age - lifetime);
  result.age_ms = age;
  result.usable_on_error = !entry.no_cache && (!stale || (stale_allowed && stale_on_error_allowed));
  if (entry.no_cache || requestDemandsFresher(request_cc, age, lifetime)) {
    result.verdict = Verdict::MustRevalidate;
  } else if (!stale) {
    result.verdict = Verdict::Fresh;
  } else if (stale_allowed && !invalidated && maxStaleAllows(request_cc, age - lifetime)) {
    result.verdict = Verdict::Fresh;  // the client accepts it as is; no refresh needed
  } else if (stale_allowed && within(entry.stale_while_revalidate_ms)) {
    result.verdict = Verdict::StaleServable;
  } else {
    result.verdict = Verdict::MustRevalidate;
  }
  return result;
}

int64_t ageSeconds(int64_t age_ms) { return std::max<int64_t>(0, age_ms) / kMsPerSecond; }

}  // namespace edge::cache
