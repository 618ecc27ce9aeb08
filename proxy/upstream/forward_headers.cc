#include "proxy/upstream/forward_headers.h"

#include <string>

#include "lib/http/headers.h"
#include "lib/http/via.h"

namespace edge::upstream {

http::Headers forwardHeaders(http::Headers&& client_headers, const ForwardedFrom& from,
                             const config::UpstreamConfig& upstream) {
  http::Headers headers = std::move(client_headers);
  http::stripHopByHop(headers);
  headers.remove("expect");
  if (from.reserved != nullptr) {
    for (const std::string& name : *from.reserved) {
      headers.remove(name);
    }
  }
  if (from.tls != nullptr && !from.tls->cert_subject.empty()) {
    headers.set(from.tls->subject_header, from.tls->cert_subject);
  }
  headers.appendToList("X-Forwarded-For", from.client_ip);
  headers.set("X-Forwarded-Proto", from.tls != nullptr ? "https" : "http");
  if (!from.host.empty()) {
    headers.set("X-Forwarded-Host", std::string(from.host));
  }
  headers.appendToList("Via", from.http11 ? http::kVia : http::kVia10);
  if (upstream.host_header) {
    headers.set("Host", *upstream.host_header);
  } else if (from.host.empty()) {
    headers.set("Host", upstream.servers[0].str());  // HTTP/1.0 client without Host
  }
  return headers;
}

}  // namespace edge::upstream
