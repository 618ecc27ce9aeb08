// The proxy's Via entry (RFC 9110 7.6.3): one value for every response and request it forwards.
#pragma once

#include <string_view>

namespace edge::http {

inline constexpr std::string_view kVia = "1.1 edge-proxy";
// On a request forwarded for an HTTP/1.0 client.
inline constexpr std::string_view kVia10 = "1.0 edge-proxy";

}  // namespace edge::http
