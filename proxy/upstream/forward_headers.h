// The client's request headers as they go upstream: hop-by-hop headers and Expect removed,
// X-Forwarded-For/-Proto/-Host and Via added, Host as the upstream wants it.
#pragma once

#include <string_view>

#include "config/config.h"
#include "lib/http/headers.h"

namespace edge::upstream {

struct ForwardedFrom {
  std::string_view client_ip;
  std::string_view host;  // the request's authority, possibly empty (an HTTP/1.0 client)
  bool http11 = true;
};

http::Headers forwardHeaders(http::Headers&& client_headers, const ForwardedFrom& from,
                             const config::UpstreamConfig& upstream);

}  // namespace edge::upstream
