#include "lib/http/per_request_headers.h"

namespace edge::http {

void stripPerRequestHeaders(Headers& headers) {
  for (std::string_view name : kPerRequestResponseHeaders) {
    headers.remove(name);
  }
}

}  // namespace edge::http
