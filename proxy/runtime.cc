#include "proxy/runtime.h"

#include "proxy/net_util.h"

namespace edge {

RuntimePtr buildRuntime(const config::ConfigPtr& config, std::string& error) {
  auto runtime = std::make_shared<Runtime>(config);
  for (const config::UpstreamConfig& upstream : config->upstreams) {
    std::vector<sockaddr_storage> addresses(upstream.servers.size());
    for (size_t i = 0; i < upstream.servers.size(); ++i) {
      std::string why;
      if (!net::resolve(upstream.servers[i], addresses[i], why)) {
        error = "upstream \"" + upstream.name + "\": " + why;
        return nullptr;
      }
    }
    runtime->upstream_addresses.push_back(std::move(addresses));
  }
  return runtime;
}

}  // namespace edge
