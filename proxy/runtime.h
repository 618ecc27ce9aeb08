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
#include "lib/metrics/name_slots.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/config_report.h"
#include "proxy/tls/server_context.h"
#include "proxy/upstream/address_book.h"

namespace edge {

struct Runtime {
  config::ConfigPtr config;
  config::RouteTable routes;
  // Every address of every upstream server, and its active health; the main thread
  // re-resolves names and runs the checks into it (upstream/upstream_monitor.*).
  std::shared_ptr<upstream::AddressBook> addresses = std::make_shared<upstream::AddressBook>();
  // The request filters' configs, built once for this snapshot.
  filters::ChainFactory filters;
  // TLS contexts built from this snapshot's files: [listener] (null: plain) and [upstream]
  // (null: plain TCP).
  std::vector<std::shared_ptr<const tls::ServerContext>> listener_tls;
  std::vector<std::shared_ptr<const tls::ClientContext>> upstream_tls;
  // Headers that carry a verified client certificate subject upstream: removed from every
  // client request, on every listener, before the proxy sets its own.
  std::vector<std::string> client_subject_headers;
  // [class index] -> the class name's process-wide slot for per-class metrics.
  std::vector<metrics::Slot> class_slots;
  // [upstream index] -> the upstream name's slot for per-upstream metrics.
  std::vector<metrics::Slot> upstream_slots;

  explicit Runtime(config::ConfigPtr cfg) : config(cfg), routes(*cfg), filters(*cfg, routes) {}
};

using RuntimePtr = std::shared_ptr<const Runtime>;

// Builds a Runtime: resolves every upstream server and reads every TLS file. Empty pointer on
// failure, with the problems (file:line:col) in `report`; warnings do not fail it.
RuntimePtr buildRuntime(const config::ConfigPtr& config, tls::ConfigReport& report);
// The same, with the first problem as one line of text.
RuntimePtr buildRuntime(const config::ConfigPtr& config, std::string& error);

}  // namespace edge
