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

namespace edge::config {

using Millis = std::chrono::milliseconds;

struct HostPort {
  std::string host;  // literal IPv4/IPv6 address or a name; IPv6 without brackets
  uint16_t port = 0;

  std::string str() const;  // "127.0.0.1:80", "[::1]:80"
  bool operator==(const HostPort&) const = default;
};

// Limits on what a client may send. Exceeding one gets a clear 4xx and, where framing is in
// doubt, the connection is closed.
struct Limits {
  size_t max_header_bytes = 32 * 1024;          // request line + headers -> 431 above this
  uint64_t max_request_body = 64ull << 20;       // -> 413 above this; 0 means unlimited
};

struct ClientTimeouts {
  Millis header{10'000};      // from first byte of a request to the end of its headers
  Millis body_idle{60'000};   // longest pause while reading a request body
  Millis keepalive{60'000};   // idle keep-alive connection
  Millis send_idle{60'000};   // longest wait for a slow client to take written bytes
  Millis drain{10'000};       // on SIGTERM: longest wait for in-flight exchanges
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
};

// Route classes carry caching policy (see the cache issue); the proxy core only names them.
struct RouteClass {
  std::string name;
  bool cache = true;  // false: pass-through, never stored
  Millis ttl{0};
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
  int source_line = 0;           // 1-based line in the config file, for diagnostics
};

struct Config {
  std::string source;                  // file name, or "<quick>" for --listen/--upstream
  std::vector<HostPort> listen;
  unsigned workers = 0;                // 0 = one per CPU core
  Limits limits;
  ClientTimeouts client_timeouts;
  std::vector<UpstreamConfig> upstreams;
  std::vector<RouteClass> route_classes;
  std::vector<Route> routes;           // first match wins

  const UpstreamConfig& upstreamOf(const Route& r) const { return upstreams[r.upstream_index]; }
  const RouteClass& classOf(const Route& r) const { return route_classes[r.class_index]; }
};

using ConfigPtr = std::shared_ptr<const Config>;

// Zero-config mode: everything on `listen` goes to `upstream`, default behaviour, no caching.
ConfigPtr quickConfig(const HostPort& listen, const HostPort& upstream);

}  // namespace edge::config
