// What every worker reads and nobody writes: the config snapshot, its compiled routes and the
// resolved upstream addresses. Shared as shared_ptr<const Runtime>; a reload builds a new one.
#pragma once

#include <sys/socket.h>

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/route_rules.h"
#include "filters/compress/accept_encoding.h"
#include "filters/chain_factory.h"
#include "filters/compress/encoded_entry.h"

namespace edge {

struct Runtime {
  config::ConfigPtr config;
  config::RouteTable routes;
  std::vector<std::vector<sockaddr_storage>> upstream_addresses;  // [upstream][server]
  // The request filters' configs, built once for this snapshot.
  filters::ChainFactory filters;

  explicit Runtime(config::ConfigPtr cfg) : config(cfg), routes(*cfg), filters(*cfg, routes) {}
};

using RuntimePtr = std::shared_ptr<const Runtime>;

// Builds a Runtime, resolving every upstream server; empty pointer and `error` on failure.
RuntimePtr buildRuntime(const config::ConfigPtr& config, std::string& error);

}  // namespace edge
