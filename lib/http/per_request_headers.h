// Headers that belong to one exchange, never to a stored response: an origin's request id or
// trace context must not be replayed to later clients from a cache entry. They are removed
// from every upstream response before it is stored or forwarded; the proxy then sends the
// current request's X-Request-Id itself.
#pragma once

#include <array>
#include <string_view>

#include "lib/http/headers.h"

namespace edge::http {

inline constexpr std::array<std::string_view, 4> kPerRequestResponseHeaders = {
    "x-request-id", "x-correlation-id", "traceparent", "tracestate"};

void stripPerRequestHeaders(Headers& headers);

}  // namespace edge::http
