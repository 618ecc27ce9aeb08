// How a message body is delimited on the wire (RFC 9112 section 6). The serializer alone
// applies these decisions; nothing else writes Content-Length or Transfer-Encoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace edge::http {

enum class BodyFraming {
  None,           // no body bytes at all (HEAD, 1xx, 204, 304, or an empty request)
  ContentLength,  // exactly `length` bytes
  Chunked,        // chunked transfer coding
  UntilClose,     // response body delimited by closing the connection
};

struct Framing {
  BodyFraming kind = BodyFraming::None;
  uint64_t length = 0;  // for ContentLength
};

// A response status that never carries a body.
bool statusHasNoBody(int status);

// Framing of the request we send upstream, from what the client sent.
Framing upstreamRequestFraming(bool has_content_length, uint64_t content_length, bool chunked);

struct DownstreamResponseInput {
  bool request_is_head = false;
  int status = 200;
  bool has_content_length = false;  // the upstream's message framing had a length
  uint64_t content_length = 0;
  bool client_http11 = true;        // HTTP/1.1 client (chunked allowed)
};

struct DownstreamResponseFraming {
  Framing framing;
  // For HEAD: the Content-Length the GET would have had, sent without a body.
  bool advertise_length_only = false;
  bool must_close = false;  // UntilClose framing forces the connection to close
};

DownstreamResponseFraming downstreamResponseFraming(const DownstreamResponseInput& in);

// Checks a request's Transfer-Encoding field values (every field line, in order) under the
// list rules of RFC 9112 section 6.1: the proxy accepts exactly one coding, "chunked" without
// parameters. Returns 0 when acceptable, else the status to refuse with (400 when chunked is
// not the final coding, 501 for any other coding) and `reason` says why.
int checkRequestTransferEncoding(const std::vector<std::string_view>& values, std::string& reason);

// Idempotent methods (RFC 9110 section 9.2.2) may be retried on a fresh connection.
bool isIdempotentMethod(std::string_view method);

}  // namespace edge::http
