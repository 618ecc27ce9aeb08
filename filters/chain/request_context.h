// What one request is and what happened to it, filled by the Stream and the filters as it goes
// and read at the end (the log phase, counters). One per request, owned by its Stream.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/config.h"
#include "filters/compress/accept_encoding.h"
#include "lib/http/error_kind.h"
#include "lib/http/headers.h"

namespace edge::filters {

// What the cache did, for X-Cache and Cache-Status.
enum class CacheOutcome { None, Hit, Miss, Stale, Revalidated, Coalesced, Bypass };

using ErrorKind = http::ErrorKind;

// Milliseconds on the worker's clock; 0 = did not happen.
struct Timings {
  uint64_t accepted = 0;
  uint64_t headers_read = 0;
  uint64_t upstream_connected = 0;
  uint64_t upstream_first_byte = 0;
  uint64_t first_byte_out = 0;
  uint64_t done = 0;
};

// A client connection's TLS: the verified client certificate's subject (RFC 2253; empty when
// none was presented) and the header that carries it upstream.
struct ClientTls {
  std::string cert_subject;
  std::string subject_header;
  std::string version;  // "TLSv1.3", for the access log
};

struct RequestContext {
  // The request, as routed.
  std::string method;
  std::string host;
  std::string client_ip;
  std::optional<ClientTls> client_tls;  // set: the request came over TLS
  std::string target;  // normalised origin-form, as sent upstream
  bool head_request = false;
  bool client_http10 = false;
  std::string request_id;  // X-Request-Id: the client's if well-formed, else a new one
  std::string user_agent;  // and the Referer: for the access log
  std::string referer;
  const config::Route* route = nullptr;
  const config::RouteClass* route_class = nullptr;
  // The request headers as they go upstream (hop-by-hop removed, forwarding headers added).
  http::Headers* upstream_headers = nullptr;

  // What the client accepts and already holds, read once by the filters that need them.
  AcceptEncoding accept;
  std::optional<std::string> if_none_match;  // GET and HEAD only
  std::optional<std::string> if_modified_since;
  bool has_field_selection = false;

  // What happened.
  CacheOutcome outcome = CacheOutcome::None;
  std::string cache_detail;   // Cache-Status parameters
  int64_t entry_age_ms = -1;  // Age to send when answering from an entry
  int status = 0;
  uint64_t bytes_in = 0;   // request body bytes read from the client
  uint64_t bytes_out = 0;  // response bytes queued to the client
  // The upstream server that answered (from the config snapshot), or null; formatted only
  // by whoever prints it.
  const config::HostPort* upstream_server = nullptr;
  bool invalid_json = false;  // the origin's JSON could not be projected; sent as it was
  ErrorKind error = ErrorKind::None;
  Timings timings;
};

}  // namespace edge::filters
