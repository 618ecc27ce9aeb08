// What may be looked up (request side) and what may be stored (response side).
#include "lib/cache/policy.h"

#include <algorithm>
#include <charconv>

#include "lib/cache/policy_internal.h"

namespace edge::cache {
namespace {

bool hasNonEmpty(const http::Headers& headers, std::string_view name) {
  const std::string* value = headers.find(name);
  return value != nullptr && value->find_first_not_of(" \t") != std::string::npos;
}

// RFC 9111 5.4: Pragma: no-cache counts only when Cache-Control is absent.
CacheControl requestCacheControl(const http::Headers& headers) {
  if (headers.find("cache-control") == nullptr) {
    CacheControl cc;
    cc.no_cache = headers.hasToken("pragma", "no-cache");
    return cc;
  }
  return parseCacheControl(headers.joined("cache-control"));
}

RequestPolicy bypass(RequestPolicy policy, const char* reason) {
  policy.disposition = RequestDisposition::Bypass;
  policy.reason = reason;
  return policy;
}

const http::Headers& emptyHeaders() {
  static const http::Headers kEmpty;
  return kEmpty;
}

std::optional<uint64_t> contentLength(const http::Headers& headers) {
  const std::string* value = headers.find("content-length");
  if (value == nullptr) {
    return std::nullopt;
  }
  uint64_t length = 0;
  const char* end = value->data() + value->size();
  const auto [ptr, error] = std::from_chars(value->data(), end, length);
  if (error != std::errc() || ptr != end) {
    return std::nullopt;  // malformed framing is the parser's business, not a size
  }
  return length;
}

// The rules that do not depend on freshness, in the order a log reader would ask them.
const char* refusal(const ResponseFacts& response, const http::Headers& headers,
                    const CacheControl& cc, const config::RouteClass& route_class) {
  const std::vector<int>& statuses = route_class.statuses;
  if (!route_class.cache) {
    return "class";
  }
  if (std::find(statuses.begin(), statuses.end(), response.status) == statuses.end()) {
    return "status";
  }
  if (response.request_no_store || cc.no_store) {
    return "no-store";
  }
  if (cc.is_private) {
    return "private";
  }
  // RFC 9111 3.5: an answer to an authorised request is shared only when the origin says so.
  if (response.request_credentialed_unscoped && !sharedWithCredentials(cc)) {
    return "credentials";
  }
  if (!route_class.store_set_cookie && headers.find("set-cookie") != nullptr) {
    return "set-cookie";
  }
  if (!varyHeaders(headers, route_class)) {
    return "vary";
  }
  const std::optional<uint64_t> length = contentLength(headers);
  if (length && *length > route_class.max_object_size) {
    return "size";
  }
  return nullptr;
}

// Without a validator a stored response is only worth keeping while it can be served without
// asking the origin: fresh on arrival or inside a stale window.
const char* freshnessRefusal(const http::Headers& headers, const CacheControl& cc,
                             const config::RouteClass& route_class, int64_t now_ms) {
  if (headers.find("etag") != nullptr || headers.find("last-modified") != nullptr) {
    return nullptr;
  }
  const bool explicit_freshness =
      cc.s_maxage.has_value() || cc.max_age.has_value() || headers.find("expires") != nullptr;
  if (!explicit_freshness && route_class.ttl.count() <= 0) {
    return "no-freshness";
  }
  if (cc.no_cache) {
    return "no-cache";  // every use needs a revalidation it cannot have
  }
  const detail::Freshness f = detail::computeFreshness(headers, cc, route_class, now_ms, now_ms);
  const bool fresh = f.lifetime_ms > f.corrected_initial_age_ms;
  const bool stale_usable =
      !f.must_revalidate && (f.stale_while_revalidate_ms > 0 || f.stale_if_error_ms > 0);
  return (fresh || stale_usable) ? nullptr : "no-freshness";
}

}  // namespace

RequestPolicy classifyRequest(std::string_view method, const http::Headers& request_headers,
                              const config::RouteClass& route_class) {
  RequestPolicy policy;
  policy.cc = requestCacheControl(request_headers);
  if (method != "GET" && method != "HEAD") {
    return bypass(std::move(policy), "method");
  }
  if (!route_class.cache) {
    return bypass(std::move(policy), "class");
  }
  const bool credentialed = request_headers.find("authorization") != nullptr ||
                            request_headers.find("cookie") != nullptr;
  const config::CacheKeyConfig& key = route_class.key;
  if (credentialed && !key.per_credential) {
    if (key.tenant_header.empty()) {
      policy.credentialed_unscoped = true;
    } else if (!hasNonEmpty(request_headers, key.tenant_header)) {
      // Credentials without a tenant would share one key across every tenant.
      return bypass(std::move(policy), "tenant");
    }
  }
  policy.disposition = RequestDisposition::Lookup;
  return policy;
}

StoreDecision decideStore(const ResponseFacts& response, const config::RouteClass& route_class,
                          int64_t now_ms) {
  const http::Headers& headers = response.headers != nullptr ? *response.headers : emptyHeaders();
  const CacheControl cc = parseCacheControl(headers.joined("cache-control"));
  if (const char* reason = refusal(response, headers, cc, route_class)) {
    return StoreDecision{false, reason};
  }
  if (const char* reason = freshnessRefusal(headers, cc, route_class, now_ms)) {
    return StoreDecision{false, reason};
  }
  return StoreDecision{true, ""};
}

}  // namespace edge::cache
