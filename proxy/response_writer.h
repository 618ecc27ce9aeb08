// The bytes of one response to its client: the status line and headers framed once from the
// final head (Content-Length, chunked or close-delimited; no body for HEAD, 1xx, 204, 304),
// the body pieces as shared buffers without copies, and the end. Counts what it queues in
// the request context.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "filters/chain/request_context.h"
#include "lib/cache/entry.h"
#include "proxy/client_side.h"

namespace edge {

// X-Cache, Cache-Status and Age lines for what the cache did, or nothing.
std::string cacheHeaderLines(const filters::RequestContext& ctx);
// What the proxy adds to every response: the cache lines and this request's X-Request-Id.
std::string proxyHeaderLines(const filters::RequestContext& ctx);

class ResponseWriter {
 public:
  ResponseWriter(ClientSide& client, filters::RequestContext& ctx) : client_(client), ctx_(ctx) {}

  // `more_lines`: header lines the proxy adds to `header_lines` (a stored head's Date).
  void begin(int status, std::string_view reason, std::string_view header_lines,
             std::optional<uint64_t> content_length, uint64_t now_ms,
             std::string_view more_lines = {});
  void body(cache::Body chunk);
  // The response's end: the last chunk if chunked, then the connection hears it is done.
  void end();

  bool started() const { return started_; }
  bool complete() const { return complete_; }

 private:
  ClientSide& client_;
  filters::RequestContext& ctx_;
  bool started_ = false;
  bool chunked_ = false;
  bool must_close_ = false;
  bool body_allowed_ = false;  // false for HEAD, 1xx, 204 and 304
  bool complete_ = false;
};

}  // namespace edge
