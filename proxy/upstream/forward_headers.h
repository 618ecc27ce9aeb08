// The client's request headers as they go upstream: hop-by-hop headers, Expect and reserved
// headers removed, X-Forwarded-For/-Proto/-Host, Via and the verified client certificate
// subject added, Host as the upstream wants it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "filters/chain/request_context.h"
#include "lib/http/headers.h"

namespace edge::upstream {

struct ForwardedFrom {
  std::string_view client_ip;
  std::string_view host;  // the request's authority, possibly empty (an HTTP/1.0 client)
  bool http11 = true;
  const filters::ClientTls* tls = nullptr;  // set: the client connection is TLS
  // Headers only the proxy may set (the client certificate subject): removed from the
  // client's headers whatever the listener.
  const std::vector<std::string>* reserved = nullptr;
};

http::Headers forwardHeaders(http::Headers&& client_headers, const ForwardedFrom& from,
                             const config::UpstreamConfig& upstream);

}  // namespace edge::upstream
