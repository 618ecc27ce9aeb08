// Protocol upgrades (RFC 9110 7.8): which of the protocols a request asks for may be tunnelled,
// and whether a 101 answer switched to one of them. Pure: no I/O.
#pragma once

#include <string>
#include <vector>

#include "lib/http/headers.h"

namespace edge::http {

// The Upgrade value to send upstream: the protocols the request asks for (Connection: upgrade
// and an Upgrade header) whose names are in `allowed` (lower case; "websocket" allows
// "WebSocket" and "websocket/13"), in the client's order. Empty when the request asks for no
// upgrade or for none that is allowed.
std::string allowedUpgrade(const Headers& request_headers, const std::vector<std::string>& allowed);

// A 101 answer to a request that offered `offered`: it must name, in its own Upgrade header,
// one protocol that was offered. Empty when it does; otherwise why not.
std::string switchProblem(const Headers& response_headers, const std::string& offered);

}  // namespace edge::http
