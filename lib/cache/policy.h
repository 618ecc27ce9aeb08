// HTTP caching policy (RFC 9111 with RFC 5861 stale extensions) as pure functions: what may
// be looked up, what may be stored, how fresh a stored response is, and how a 304 refreshes it.
// Times are wall-clock milliseconds since the epoch (Date and Expires are wall-clock too).
// No I/O, no event loop: everything here is unit tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "lib/cache/cache_control.h"
#include "lib/cache/entry.h"
#include "lib/http/headers.h"

namespace edge::cache {

// ---- request side ----------------------------------------------------------------------------

enum class RequestDisposition {
  Lookup,  // may be answered from the cache and its response may be stored
  Bypass,  // goes upstream untouched; nothing is stored (X-Cache: BYPASS)
};

struct RequestPolicy {
  RequestDisposition disposition = RequestDisposition::Bypass;
  const char* reason = "";  // why it bypasses, for logs and Cache-Status ("method", ...)
  CacheControl cc;          // the request's own Cache-Control (plus Pragma: no-cache)
  // The request carries Authorization or Cookie and the class does not scope the key by
  // credential or tenant: only entries whose response allowed sharing (RFC 9111 3.5) may
  // answer it, and only such responses may be stored from it.
  bool credentialed_unscoped = false;
};

// GET and HEAD of a class with cache enabled are looked up; everything else bypasses.
// A request with Authorization is looked up only if the class scopes the key
// (per_credential or tenant_header) or as credentialed_unscoped (see above); Cookie likewise.
RequestPolicy classifyRequest(std::string_view method, const http::Headers& request_headers,
                              const config::RouteClass& route_class);

// ---- response side ---------------------------------------------------------------------------

struct StoreDecision {
  bool store = false;
  const char* reason = "";  // why not, e.g. "no-store", "private", "status", "vary", "set-cookie"
};

struct ResponseFacts {
  int status = 200;
  const http::Headers* headers = nullptr;
  bool request_credentialed_unscoped = false;
  bool request_no_store = false;  // request Cache-Control: no-store
};

// RFC 9111 section 3 plus the class: statuses the class lists, no-store, private (we are a
// shared cache), Vary on a header the class does not allow (or "*"), Set-Cookie unless the
// class allows it, and credentialed-unscoped requests unless the response says public,
// s-maxage or must-revalidate. A response with no freshness information and a class ttl of 0
// (and no heuristic) is still storable when it has a validator (it is stored stale and must
// be revalidated); otherwise it is not ("no-freshness").
StoreDecision decideStore(const ResponseFacts& response, const config::RouteClass& route_class,
                          int64_t now_ms);

// The headers a response varies on (lower case) when every one is allowed by the class;
// nullopt when it varies on "*" or on a header the class does not allow.
std::optional<std::vector<std::string>> varyHeaders(const http::Headers& response_headers,
                                                   const config::RouteClass& route_class);

// A request header value as it keys a variant: accept-encoding becomes "br", "gzip" or
// "identity" (what a client accepts, not how it spells it); others are lower-cased with
// white space collapsed. An absent header is "".
std::string normaliseVaryValue(std::string_view header_name, const std::string* value);

// RFC 9111 3.5: a response may answer (or be stored from) a request with credentials only
// when it says it is shared: public, s-maxage or must-revalidate.
inline bool sharedWithCredentials(const CacheControl& cc) {
  return cc.is_public || cc.s_maxage.has_value() || cc.must_revalidate;
}

// Fills the freshness, stale windows, validators and RFC 9111 age inputs of `entry` from the
// response headers, the class and the exchange times:
// - freshness: s-maxage, else max-age, else Expires - Date, else heuristic (10% of
//   Date - Last-Modified, at most 1 day) when the class allows, else the class ttl; with
//   override_origin the class ttl wins whenever it is non-zero;
// - stale windows: the response's stale-while-revalidate / stale-if-error, else the class's;
//   must-revalidate, proxy-revalidate and s-maxage forbid both (must_revalidate = true);
// - no-cache (response) sets no_cache;
// - corrected_initial_age per RFC 9111 4.2.3 (Age header, Date, request/response times);
//   the Age header is then removed from entry.headers (it is recomputed when served).
void fillFreshness(CachedEntry& entry, const config::RouteClass& route_class,
                   int64_t request_time_ms, int64_t response_time_ms);

// ---- lookup ----------------------------------------------------------------------------------

enum class Verdict {
  Fresh,               // serve it
  StaleServable,       // serve it now and refresh in the background (stale-while-revalidate)
  MustRevalidate,      // revalidate before serving (may still serve it if the origin fails
                       // and stale_if_error allows)
};

struct Evaluation {
  Verdict verdict = Verdict::MustRevalidate;
  int64_t age_ms = 0;           // current age (RFC 9111 4.2.3)
  bool usable_on_error = false; // inside stale-if-error (or request max-stale) if the origin fails
};

// Current age, freshness and what the request allows: request max-age, min-fresh, max-stale
// and no-cache; the entry's no_cache and invalidated flags force MustRevalidate.
Evaluation evaluate(const CachedEntry& entry, const CacheControl& request_cc, int64_t now_ms);

// The Age header value in whole seconds.
int64_t ageSeconds(int64_t age_ms);

// ---- revalidation ----------------------------------------------------------------------------

// If-None-Match (from the ETag) and If-Modified-Since (from Last-Modified) for a conditional
// request upstream; replaces any the client sent.
void addValidators(const CachedEntry& entry, http::Headers& upstream_request_headers);

// A 304 from the origin refreshes the stored response (RFC 9111 4.3.4): a new entry with the
// old body and status, its headers updated from the 304's (except Content-Length,
// Content-Encoding and the framing headers; a 304 without Date is dated response_time_ms),
// and freshness recomputed with the new times.
EntryPtr refreshFromNotModified(const CachedEntry& stale, const http::Headers& not_modified_headers,
                                const config::RouteClass& route_class, int64_t request_time_ms,
                                int64_t response_time_ms);

// Parses an HTTP-date (IMF-fixdate, RFC 850 and asctime forms); nullopt when invalid.
std::optional<int64_t> parseHttpDate(std::string_view text);
std::string formatHttpDate(int64_t epoch_ms);

}  // namespace edge::cache
