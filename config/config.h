// Immutable, typed configuration. Built once by the loader (or by quickConfig) and shared
// read-only between threads as shared_ptr<const Config>. No YAML types appear here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/access_log_config.h"
#include "config/health_config.h"
#include "config/invalidation_config.h"
#include "config/tls_config.h"

namespace edge::config {

using Millis = std::chrono::milliseconds;

struct HostPort {
  std::string host;  // literal IPv4/IPv6 address or a name; IPv6 without brackets
  uint16_t port = 0;

  std::string str() const;  // "127.0.0.1:80", "[::1]:80"
  bool operator==(const HostPort&) const = default;
};

// One listening address; with `tls` set it terminates TLS.
struct ListenConfig {
  HostPort address;
  std::optional<TlsListenerConfig> tls;

  bool operator==(const ListenConfig&) const = default;
};

// Limits on what a client may send. Exceeding one gets a clear 4xx and, where framing is in
// doubt, the connection is closed.
struct Limits {
  size_t max_header_bytes = 32 * 1024;          // request line + headers -> 431 above this
  uint64_t max_request_body = 64ull << 20;       // -> 413 above this; 0 means unlimited
  size_t max_tunnels = 50'000;                   // open Upgrade tunnels per worker -> 503 above
};

struct ClientTimeouts {
  Millis header{10'000};      // from first byte of a request to the end of its headers
  Millis body_idle{60'000};   // longest pause while reading a request body
  Millis keepalive{60'000};   // idle keep-alive connection
  Millis send_idle{60'000};   // longest wait for a slow client to take written bytes
  Millis drain{10'000};       // on SIGTERM: longest wait for in-flight exchanges
  // On SIGTERM, /readyz fails at once but the listeners keep accepting this long before the
  // drain starts, so a load balancer stops sending first.
  Millis drain_delay{0};
  Millis tunnel_idle{3'600'000};  // an Upgrade tunnel with no bytes either way is closed
};

struct UpstreamConfig {
  std::string name;
  std::vector<HostPort> servers;
  Millis connect_timeout{2'000};
  Millis first_byte_timeout{30'000};  // request fully sent -> first response byte
  Millis idle_timeout{60'000};        // longest pause between response (or request) bytes
  size_t pool_max_idle = 64;          // idle keep-alive connections kept per worker
  Millis pool_idle_timeout{30'000};   // an idle pooled connection is closed after this
  std::optional<std::string> host_header;  // rewrite Host; unset keeps the client's Host
  uint32_t max_fails = 3;             // consecutive failures that eject a server...
  Millis fail_timeout{10'000};        // ...for this long
  std::optional<UpstreamTlsConfig> tls;  // set: TLS to every server
  std::optional<HealthCheckConfig> health_check;  // set: active checks of every address
  Millis resolve_interval{30'000};    // how often server names are resolved again

  bool operator==(const UpstreamConfig&) const = default;
};

// Which parts of a request make up the cache key, beyond method class, host and path.
struct CacheKeyConfig {
  enum class QueryMode {
    IgnoreListed,  // every query parameter except those listed (default)
    IncludeOnly,   // only the listed parameters
  };
  QueryMode query_mode = QueryMode::IgnoreListed;
  // Parameter names; a trailing '*' matches a prefix ("utm_*"). The default ignore list drops
  // the fieldset selector and common tracking parameters.
  std::vector<std::string> query_params = {"fields", "utm_*", "gclid", "fbclid", "msclkid"};
  std::vector<std::string> headers;  // request header names (lower case) that key the entry
  // A hash of the credential (Authorization, else Cookie) keys the entry: each credential
  // gets its own copy, so responses to authenticated requests may be stored.
  bool per_credential = false;
  // A header set by a trusted layer in front (lower case, e.g. "x-org-id") whose value keys
  // the entry; requests with credentials are then shared within one tenant only.
  std::string tenant_header;
};

// Sparse fieldsets: `?fields=id,site.name` (or JSON:API `fields[TYPE]=`) cuts JSON responses
// down to the selected fields. The parameter never reaches the origin: the full response is
// fetched and cached once, and every selection is cut from it.
struct FieldsConfig {
  bool enabled = true;
  std::string envelope = "data";  // the member holding the resources; "" for none
  bool memoize = true;            // keep hot projections of cached entries in the cache
};

// A route class is the caching policy of the routes that name it.
struct RouteClass {
  std::string name;
  bool cache = true;  // false: pass-through, never stored
  // Freshness when the origin gives none (no max-age, s-maxage or Expires); with
  // override_origin it replaces the origin's freshness instead.
  Millis ttl{0};
  bool override_origin = false;
  Millis stale_while_revalidate{0};  // serve stale this long while one refresh runs
  Millis stale_if_error{0};          // serve stale this long when the origin fails
  bool heuristic_freshness = false;  // RFC 9111 4.2.2 (10% of Last-Modified age) allowed
  CacheKeyConfig key;
  // Request headers the origin may Vary on (lower case). A response that varies on any other
  // header (or on "*") is not stored. accept-encoding is normalised to br / gzip / identity.
  std::vector<std::string> vary = {"accept-encoding", "accept-language", "accept"};
  std::vector<int> statuses = {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501};
  uint64_t max_object_size = 8ull << 20;  // larger bodies stream through uncached
  bool store_set_cookie = false;          // responses with Set-Cookie are stored only if true
  // Tag templates: "org:{header.x-org-id}:wo:{path.3}", "{query.site}", "sites" (literal).
  std::vector<std::string> tags;
  // Give uncached JSON 200 responses without an ETag a strong one too: they are held back until
  // complete (up to max_object_size) so If-None-Match can get a 304 where nothing is stored.
  bool generate_etag = false;
  // Make the gzip and Brotli forms when an entry is stored rather than on first demand.
  bool compress_on_store = false;
  FieldsConfig fields;
};

// The shared response cache.
struct CacheConfig {
  uint64_t memory = 256ull << 20;  // one byte budget for everything entries hold
  unsigned shards = 16;
  Millis lock_timeout{10'000};     // longest a request waits on another's fetch of its key
  Millis hit_for_miss{30'000};     // how long an uncacheable answer bypasses coalescing
};

// Compression of responses (cache hits and streamed responses alike).
struct CompressionConfig {
  bool enabled = true;
  uint64_t min_size = 1000;          // smaller bodies are sent as they are
  std::vector<std::string> types = {"application/json", "application/*+json", "text/*",
      "application/javascript", "text/javascript", "image/svg+xml", "application/xml",
      "application/*+xml"};          // media types, '*' wildcards, lower case
  int gzip_level = 6;                // 1..9, for encoded forms stored with cache entries
  int brotli_quality = 11;           // 0..11, likewise; made on a background thread
  int stream_gzip_level = 5;         // 1..9, for responses compressed while they stream
  int stream_brotli_quality = 4;     // 0..11
  int stream_brotli_window = 18;     // 10..24 (lgwin): Brotli's memory grows with it
};

// Batch fan-out: one POST carrying many sub-requests, each run through the whole pipeline
// (routing, cache, coalescing, fields, conditionals) and answered together in request order.
struct BatchConfig {
  bool enabled = true;
  std::string path = "/api/v1/batch";  // POST here is a batch, on every host
  size_t max_items = 20;
  uint64_t max_request_size = 1ull << 20;    // the batch body -> 413 above this
  uint64_t max_response_size = 8ull << 20;   // the items' responses as embedded, together
  Millis item_timeout{10'000};              // an item still running then answers 504
  size_t concurrency = 10;                   // items of one batch running at once
  // Request headers every item gets from the batch request (lower case); an item may not set
  // them itself, so credentials and tenant scoping hold for every item.
  std::vector<std::string> inherit_headers = {"authorization", "cookie", "accept-language",
                                              "x-org-id"};
};

enum class PathMatchKind {
  Any,       // no path condition
  Exact,     // "/health"
  Prefix,    // path_prefix: "/static/"
  Template,  // "/api/v1/work-orders/{id}": each {param} matches one non-empty segment
};

struct RouteMatch {
  std::vector<std::string> hosts;    // empty = any host; "*.example.com" wildcards allowed
  PathMatchKind path_kind = PathMatchKind::Any;
  std::string path;                  // meaning depends on path_kind
  std::vector<std::string> methods;  // upper case; empty = any method
};

struct Route {
  RouteMatch match;
  size_t upstream_index = 0;     // into Config::upstreams
  size_t class_index = 0;        // into Config::route_classes
  // Upgrade tokens (lower case) this route tunnels; another Upgrade is forwarded as a plain
  // request without its Upgrade headers.
  std::vector<std::string> upgrade = {"websocket"};
  int source_line = 0;           // 1-based line in the config file, for diagnostics
};

struct Config {
  std::string source;                  // file name, or "<quick>" for --listen/--upstream
  std::vector<ListenConfig> listen;
  unsigned workers = 0;                // 0 = auto: the CPUs this process may use
  Limits limits;
  ClientTimeouts client_timeouts;
  std::vector<UpstreamConfig> upstreams;
  CacheConfig cache;
  CompressionConfig compression;
  BatchConfig batch;
  std::vector<RouteClass> route_classes;
  std::vector<Route> routes;           // first match wins
  std::optional<InvalidationConfig> invalidation;  // unset: no Redis subscriber
  std::optional<AdminConfig> admin;                // unset: no admin listener
  std::optional<AccessLogConfig> access_log;       // unset: no access log

  const UpstreamConfig& upstreamOf(const Route& r) const { return upstreams[r.upstream_index]; }
  const RouteClass& classOf(const Route& r) const { return route_classes[r.class_index]; }
};

using ConfigPtr = std::shared_ptr<const Config>;

// Zero-config mode: everything on `listen` goes to `upstream`, default behaviour, no caching.
ConfigPtr quickConfig(const HostPort& listen, const HostPort& upstream);

}  // namespace edge::config
