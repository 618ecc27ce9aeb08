#include "proxy/main_services.h"

#include <cstdlib>

#include "proxy/admin/admin_listener.h"
#include "proxy/log.h"
#include "proxy/redis/subscriber.h"
#include "proxy/upstream/upstream_monitor.h"

namespace edge {
namespace {

constexpr size_t kAdminMessageLimit = 64 * 1024;

std::string adminToken(const config::AdminConfig& admin) {
  const char* value = std::getenv(admin.token_env.c_str());
  return value != nullptr ? value : "";
}

}  // namespace

bool MainServices::check(const config::Config& config, std::string& error) {
  if (config.admin && adminToken(*config.admin).empty()) {
    error = "admin: the environment variable " + config.admin->token_env +
            " is unset or empty; it must hold the admin API's bearer token";
    return false;
  }
  return true;
}

bool MainServices::start(uv_loop_t* loop, const config::Config& config, cache::SharedCache& cache,
                         admin::RequestTotalsSource requests, std::string& error) {
  const size_t max_message =
      config.invalidation ? config.invalidation->max_message_size : kAdminMessageLimit;
  purger_ = std::make_unique<invalidation::Purger>(cache.store, stats_, max_message);
  if (config.admin) {
    const config::AdminConfig& admin = *config.admin;
    api_ = std::make_unique<admin::AdminApi>(adminToken(admin), *purger_, stats_, admin.max_body,
                                             &cache, std::move(requests));
    listener_ = admin::AdminListener::open(loop, admin, *api_, error);
    if (listener_ == nullptr) {
      error = "admin listen " + config::HostPort{admin.host, admin.port}.str() + ": " + error;
      return false;
    }
    EDGE_LOG_INFO("admin API at http://%s (bearer token from $%s)",
                  config::HostPort{admin.host, listener_->port()}.str().c_str(),
                  admin.token_env.c_str());
  }
  if (config.invalidation) {
    subscriber_ = redis::Subscriber::start(loop, *config.invalidation, *purger_, stats_);
  }
  return true;
}

MainServices::MainServices() = default;
MainServices::~MainServices() = default;

void MainServices::watchUpstreams(uv_loop_t* loop, RuntimePtr runtime) {
  monitor_ = std::make_unique<upstream::UpstreamMonitor>(loop, std::move(runtime));
  monitor_->start();
  if (api_) {
    api_->setUpstreamsReport([monitor = monitor_.get()](admin::JsonWriter& json) {
      monitor->report(json);
    });
  }
}

void MainServices::stop() {
  if (monitor_) {
    monitor_->stop();
  }
  if (subscriber_ != nullptr) {
    subscriber_->close();
    subscriber_ = nullptr;
  }
  if (listener_ != nullptr) {
    listener_->close();
    listener_ = nullptr;
  }
}

}  // namespace edge
