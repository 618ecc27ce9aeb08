#include "lib/http/upgrade.h"

#include <algorithm>
#include <string_view>

namespace edge::http {
namespace {

// "websocket/13" -> "websocket": the protocol's name, without its version.
std::string_view protocolName(std::string_view protocol) {
  return protocol.substr(0, protocol.find('/'));
}

bool named(std::string_view protocol, std::string_view name) {
  return iequals(protocolName(protocol), name);
}

}  // namespace

std::string allowedUpgrade(const Headers& request_headers,
                           const std::vector<std::string>& allowed) {
  if (!hasToken(request_headers.joined("connection"), "upgrade")) {
    return {};
  }
  std::string out;
  const std::string offered = request_headers.joined("upgrade");
  for (std::string_view protocol : listElements(offered)) {
    bool ok = std::any_of(allowed.begin(), allowed.end(),
                          [&](const std::string& name) { return named(protocol, name); });
    if (ok) {
      if (!out.empty()) {
        out += ", ";
      }
      out.append(protocol);
    }
  }
  return out;
}

std::string switchProblem(const Headers& response_headers, const std::string& offered) {
  const std::string chosen = response_headers.joined("upgrade");
  std::vector<std::string_view> protocols = listElements(chosen);
  if (protocols.size() != 1) {
    return protocols.empty() ? "upstream answered 101 without an Upgrade header"
                             : "upstream answered 101 naming several protocols: " + chosen;
  }
  for (std::string_view protocol : listElements(offered)) {
    if (named(protocols.front(), protocolName(protocol))) {
      return {};
    }
  }
  return "upstream switched to " + chosen + ", which was not offered (" + offered + ")";
}

}  // namespace edge::http
