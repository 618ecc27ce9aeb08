#include "config/config.h"

#include <string>
#include <utility>

namespace edge::config {

std::string HostPort::str() const {
  // Only IPv6 addresses contain a colon; they need brackets to keep the port readable.
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string out = ipv6 ? "[" + host + "]" : host;
  out += ':';
  out += std::to_string(port);
  return out;
}

ConfigPtr quickConfig(const HostPort& listen, const HostPort& upstream) {
  auto config = std::make_shared<Config>();
  config->source = "<quick>";
  config->listen.push_back(ListenConfig{listen, std::nullopt});

  UpstreamConfig origin;
  origin.name = "default";
  origin.servers.push_back(upstream);
  config->upstreams.push_back(std::move(origin));

  RouteClass pass_through;
  pass_through.name = "default";
  pass_through.cache = false;
  config->route_classes.push_back(std::move(pass_through));

  Route catch_all;
  catch_all.match.path_kind = PathMatchKind::Any;
  catch_all.upstream_index = 0;
  catch_all.class_index = 0;
  config->routes.push_back(std::move(catch_all));
  return config;
}

}  // namespace edge::config
