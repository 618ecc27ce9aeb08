// The main thread's watch over the upstreams of one Runtime: re-resolves server names every
// `resolve_interval` (every address a name has becomes a target; a name that fails keeps its
// last addresses) and runs the active health checks of upstreams that have `health_check`.
// Both write into the Runtime's AddressBook, which the workers read without locks.
#pragma once

#include <uv.h>

#include <memory>
#include <vector>

#include "proxy/admin/json_writer.h"
#include "proxy/runtime.h"
#include "proxy/upstream/health_probe.h"

namespace edge::upstream {

class NameResolver;

class UpstreamMonitor {
 public:
  UpstreamMonitor(uv_loop_t* loop, RuntimePtr runtime);
  ~UpstreamMonitor();
  UpstreamMonitor(const UpstreamMonitor&) = delete;
  UpstreamMonitor& operator=(const UpstreamMonitor&) = delete;

  void start();
  // Cancels every check and resolution; their handles close on the next loop turns.
  void stop();

  // /stats: per upstream, per server, per address: health and the last check.
  void report(admin::JsonWriter& json) const;

  // From a resolver: the server's name now resolves to `addresses` (not empty).
  void onResolved(size_t upstream, size_t server, const std::vector<sockaddr_storage>& addresses);

 private:
  struct ServerWatch {
    std::vector<HealthProbe*> probes;  // one per address of the current set
    NameResolver* resolver = nullptr;  // null for a literal address
  };

  // Starts probes for new addresses and stops those of addresses gone.
  void syncProbes(size_t upstream, size_t server);

  uv_loop_t* loop_;
  RuntimePtr runtime_;
  std::vector<std::vector<ServerWatch>> watch_;  // [upstream][server]
  bool running_ = false;
};

}  // namespace edge::upstream
