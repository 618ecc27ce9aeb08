#include "proxy/runtime.h"

#include <algorithm>

#include "proxy/net_util.h"

namespace edge {
namespace {

void buildTls(Runtime& runtime, const config::Config& config, tls::ConfigReport& report) {
  for (const config::ListenConfig& listen : config.listen) {
    std::shared_ptr<const tls::ServerContext> context;
    if (listen.tls) {
      context = tls::ServerContext::build(*listen.tls, config.source, report);
      const std::string& header = listen.tls->client_subject_header;
      auto& headers = runtime.client_subject_headers;
      if (std::find(headers.begin(), headers.end(), header) == headers.end()) {
        headers.push_back(header);
      }
    }
    runtime.listener_tls.push_back(std::move(context));
  }
  for (const config::UpstreamConfig& upstream : config.upstreams) {
    runtime.upstream_tls.push_back(
        upstream.tls ? tls::ClientContext::build(upstream, config.source, report) : nullptr);
  }
}

}  // namespace

RuntimePtr buildRuntime(const config::ConfigPtr& config, tls::ConfigReport& report) {
  auto runtime = std::make_shared<Runtime>(config);
  for (const config::UpstreamConfig& upstream : config->upstreams) {
    std::vector<upstream::AddressSetPtr> servers;
    for (const config::HostPort& server : upstream.servers) {
      std::vector<sockaddr_storage> addresses;
      std::string why;
      if (!net::resolveAll(server, addresses, why) || addresses.empty()) {
        report.errors.push_back(
            {config->source, 0, 0, "upstreams." + upstream.name + ".servers", why});
        addresses.resize(1);  // keeps indexes valid; the runtime is not used
      }
      servers.push_back(upstream::makeAddressSet(addresses, nullptr));
    }
    runtime->addresses->add(std::move(servers));
  }
  buildTls(*runtime, *config, report);
  for (const config::RouteClass& route_class : config->route_classes) {
    runtime->class_slots.push_back(metrics::NameSlots::classes().slotFor(route_class.name));
  }
  for (const config::UpstreamConfig& upstream : config->upstreams) {
    runtime->upstream_slots.push_back(metrics::NameSlots::upstreams().slotFor(upstream.name));
  }
  if (!report.errors.empty()) {
    return nullptr;
  }
  return runtime;
}

RuntimePtr buildRuntime(const config::ConfigPtr& config, std::string& error) {
  tls::ConfigReport report;
  RuntimePtr runtime = buildRuntime(config, report);
  if (!runtime) {
    error = report.errors.front().format();
  }
  return runtime;
}

}  // namespace edge
