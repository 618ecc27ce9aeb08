// What the main thread runs beside the workers: the Redis subscriber that applies
// invalidation messages, and the admin API listener. Both are optional (config sections
// `invalidation` and `admin`) and both live on the main loop.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "proxy/admin/admin_api.h"
#include "lib/cache/shared_cache.h"
#include "proxy/invalidation/purger.h"
#include "lib/invalidation/stats.h"
#include "proxy/runtime.h"

namespace edge {

namespace admin {
class AdminListener;
}
namespace redis {
class Subscriber;
}
namespace upstream {
class UpstreamMonitor;
}

class MainServices {
 public:
  MainServices();
  MainServices(const MainServices&) = delete;
  MainServices& operator=(const MainServices&) = delete;

  // Checks what must be right before anything starts (the admin token); false with `error`.
  static bool check(const config::Config& config, std::string& error);

  // Starts what the config asks for on `loop`; false with `error` when the admin listener
  // cannot listen. Nothing is left running then. `requests` sums the workers' request
  // counters for the admin API's /stats.
  // `digest`: the config's identity for port sharing (see proxy/port_claim.h).
  bool start(uv_loop_t* loop, const config::Config& config, std::string_view digest,
             cache::SharedCache& cache, admin::RequestTotalsSource requests,
             admin::ServerControl control, std::string& error);
  // A reload: the Redis subscriber restarts only when its section changed; the admin listener
  // moves only when its address changed (the new one is bound first); the admin token is read
  // again. False with `error` (and nothing changed) when the new admin listener cannot bind.
  bool reconfigure(const config::Config& old_config, const config::Config& new_config,
                   std::string_view digest, std::string& error);
  // Re-resolves the upstreams' server names and runs their active health checks on `loop`
  // (upstream/upstream_monitor.*); their state goes to /stats. A reload calls it again.
  void watchUpstreams(uv_loop_t* loop, RuntimePtr runtime);
  // Closes the subscriber, the listener and the upstream watch; their handles close on the
  // next loop turns.
  void stop();

  ~MainServices();

 private:
  bool openAdmin(const config::AdminConfig& admin, std::string_view digest, std::string& error);
  void startSubscriber(const config::InvalidationConfig& invalidation);

  uv_loop_t* loop_ = nullptr;
  cache::SharedCache* cache_ = nullptr;
  admin::RequestTotalsSource requests_;
  admin::ServerControl control_;
  invalidation::InvalidationStats stats_;
  std::unique_ptr<invalidation::Purger> purger_;
  std::unique_ptr<admin::AdminApi> api_;
  std::vector<std::unique_ptr<admin::AdminApi>> retired_apis_;  // of moved admin listeners
  redis::Subscriber* subscriber_ = nullptr;
  admin::AdminListener* listener_ = nullptr;
  std::unique_ptr<upstream::UpstreamMonitor> monitor_;
};

}  // namespace edge
