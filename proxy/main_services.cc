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

size_t maxMessage(const config::Config& config) {
  return config.invalidation ? config.invalidation->max_message_size : kAdminMessageLimit;
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

bool MainServices::start(uv_loop_t* loop, const config::Config& config, std::string_view digest,
                         cache::SharedCache& cache, admin::RequestTotalsSource requests,
                         admin::ServerControl control, std::string& error) {
  loop_ = loop;
  cache_ = &cache;
  requests_ = std::move(requests);
  control_ = std::move(control);
  purger_ = std::make_unique<invalidation::Purger>(cache.store, stats_, maxMessage(config));
  if (config.admin && !openAdmin(*config.admin, digest, error)) {
    return false;
  }
  if (config.invalidation) {
    startSubscriber(*config.invalidation);
  }
  return true;
}

bool MainServices::openAdmin(const config::AdminConfig& admin, std::string_view digest,
                             std::string& error) {
  auto api = std::make_unique<admin::AdminApi>(adminToken(admin), *purger_, stats_,
                                               admin.max_body, cache_, requests_);
  api->setControl(control_);
  api->setHealthRequiresToken(admin.health_requires_token);
  admin::AdminListener* listener = admin::AdminListener::open(loop_, admin, *api, digest, error);
  if (listener == nullptr) {
    error = "admin listen " + config::HostPort{admin.host, admin.port}.str() + ": " + error;
    return false;
  }
  EDGE_LOG_INFO("admin API at http://%s (bearer token from $%s)",
                config::HostPort{admin.host, listener->port()}.str().c_str(),
                admin.token_env.c_str());
  if (listener_ != nullptr) {
    listener_->close();  // its connections answer 503; the old api lives on until below
  }
  listener_ = listener;
  if (api_ != nullptr) {
    // It may be answering the POST /reload that moved the listener: it stays until stop().
    retired_apis_.push_back(std::move(api_));
  }
  api_ = std::move(api);
  return true;
}

void MainServices::startSubscriber(const config::InvalidationConfig& invalidation) {
  subscriber_ = redis::Subscriber::start(loop_, invalidation, *purger_, stats_);
}

bool MainServices::reconfigure(const config::Config& old_config, const config::Config& new_config,
                               std::string_view digest, std::string& error) {
  const bool admin_moved =
      new_config.admin && (!old_config.admin || old_config.admin->host != new_config.admin->host ||
                           old_config.admin->port != new_config.admin->port);
  if (admin_moved && !openAdmin(*new_config.admin, digest, error)) {
    return false;
  }
  if (!new_config.admin && listener_ != nullptr) {
    listener_->close();
    listener_ = nullptr;
    EDGE_LOG_INFO("admin API closed (no admin section any more)");
  }
  if (new_config.admin && !admin_moved && api_ != nullptr) {
    const config::AdminConfig& admin = *new_config.admin;
    api_->update(adminToken(admin), admin.max_body, admin.health_requires_token);
  }
  if (old_config.invalidation != new_config.invalidation) {
    if (subscriber_ != nullptr) {
      subscriber_->close();
      subscriber_ = nullptr;
    }
    purger_->setMaxMessageBytes(maxMessage(new_config));
    if (new_config.invalidation) {
      EDGE_LOG_INFO("invalidation settings changed: reconnecting to Redis");
      startSubscriber(*new_config.invalidation);
    }
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
