// Server::reload: read and check the config file again, then swap the new snapshot in without
// dropping a connection. Everything that can fail (parsing, TLS files, binding new listeners,
// the admin listener) happens before anything changes; on any error the running config stays.
#include <unistd.h>

#include <algorithm>
#include <set>
#include <utility>

#include "config/loader.h"
#include "proxy/log.h"
#include "proxy/main_services.h"
#include "proxy/reload_plan.h"
#include "proxy/server.h"
#include "proxy/worker.h"

namespace edge {
namespace {

// Route classes the old snapshot has and the new one does not: their entries are dropped.
std::set<std::string> removedClasses(const config::Config& old_config,
                                     const config::Config& new_config) {
  std::set<std::string> removed;
  for (const config::RouteClass& cls : old_config.route_classes) {
    removed.insert(cls.name);
  }
  for (const config::RouteClass& cls : new_config.route_classes) {
    removed.erase(cls.name);
  }
  return removed;
}

}  // namespace

admin::ReloadOutcome Server::reload() {
  admin::ReloadOutcome out = attemptReload();
  for (const std::string& w : out.warnings) {
    EDGE_LOG_WARN("reload: %s", w.c_str());
  }
  if (!out.ok) {
    for (const std::string& e : out.errors) {
      EDGE_LOG_ERROR("reload: %s", e.c_str());
    }
    EDGE_LOG_ERROR("reload failed; still running the previous configuration");
  }
  return out;
}

admin::ReloadOutcome Server::attemptReload() {
  admin::ReloadOutcome out;
  const config::ConfigPtr& old_config = runtime_->config;
  if (draining_) {
    out.errors.push_back("the proxy is stopping; no reload");
    return out;
  }
  if (old_config->source == "<quick>") {
    out.errors.push_back("started with --listen/--upstream: there is no config file to reload");
    return out;
  }
  EDGE_LOG_INFO("reloading %s", old_config->source.c_str());
  config::LoadResult loaded = config::loadConfigFile(old_config->source);
  for (const config::ConfigError& e : loaded.errors) {
    out.errors.push_back(e.format());
  }
  if (!loaded.ok()) {
    return out;
  }
  const config::ConfigPtr& config = loaded.config;
  std::string error;
  if (!MainServices::check(*config, error)) {
    out.errors.push_back(error);
    return out;
  }
  tls::ConfigReport report;
  RuntimePtr next = buildRuntime(config, report);
  for (const config::ConfigError& e : report.errors) {
    out.errors.push_back(e.format());
  }
  for (config::ConfigError w : report.warnings) {
    w.message = "warning: " + w.message;
    out.warnings.push_back(w.format());
  }
  if (!next) {
    return out;
  }
  if (options_.workers <= 0 && config->workers != old_config->workers) {
    out.warnings.push_back("workers: a new worker count takes a restart; keeping " +
                           std::to_string(worker_count_));
  }
  if (config->access_log != old_config->access_log) {
    out.warnings.push_back("access_log: changes take a restart; the log goes on as it was");
  }
  if (config->cache.memory != old_config->cache.memory ||
      config->cache.shards != old_config->cache.shards) {
    out.warnings.push_back("cache.memory and cache.shards take a restart; keeping the running "
                           "cache as it is");
  }

  // Claims made from here on carry the new file's identity (see port_claim.h).
  const std::string old_digest = std::exchange(digest_, configIdentity(*config));
  // New listeners are bound before anything changes, and before removed ones close.
  const std::vector<std::optional<size_t>> plan = planListeners(old_config->listen, config->listen);
  std::vector<Bound> opened(config->listen.size());
  auto closeOpened = [&opened] {
    for (Bound& bound : opened) {
      for (int fd : bound.fds) {
        ::close(fd);
      }
      bound.fds.clear();
    }
  };
  for (size_t i = 0; i < plan.size(); ++i) {
    if (!plan[i] && !openListener(config->listen[i], opened[i], error)) {
      out.errors.push_back(error);
      closeOpened();
      digest_ = old_digest;
      return out;
    }
  }
  if (!services_->reconfigure(*old_config, *config, digest_, error)) {
    out.errors.push_back(error);
    closeOpened();
    digest_ = old_digest;
    return out;
  }

  // From here on nothing fails.
  const std::set<std::string> gone = removedClasses(*old_config, *config);
  size_t dropped = 0;
  if (!gone.empty()) {
    dropped = cache_->store.removeIf(
        [&gone](const cache::CachedEntry& entry) { return gone.count(entry.route_class) > 0; });
  }
  for (unsigned w = 0; w < worker_count_; ++w) {
    std::vector<ListenerPlan> plans;
    for (size_t i = 0; i < plan.size(); ++i) {
      plans.push_back(plan[i] ? ListenerPlan{plan[i], -1} : ListenerPlan{std::nullopt, opened[i].fds[w]});
    }
    workers_[w]->reconfigure(next, std::move(plans));
  }
  // Names are resolved and servers checked anew for the new snapshot's upstreams.
  services_->watchUpstreams(&loop_, next);
  std::vector<Bound> listeners;
  size_t added = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    if (plan[i]) {
      Bound kept = std::move(listeners_[*plan[i]]);
      kept.config = config->listen[i];
      kept.claim = net::PortClaim::make(kept.address.str(), digest_);  // the new identity
      listeners.push_back(std::move(kept));
    } else {
      opened[i].fds.clear();  // the workers own them now
      EDGE_LOG_INFO("listening on %s (%u workers%s)", opened[i].address.str().c_str(),
                    worker_count_, opened[i].config.tls ? ", tls" : "");
      listeners.push_back(std::move(opened[i]));
      ++added;
    }
  }
  for (size_t i = 0; i < listeners_.size(); ++i) {
    if (std::find(plan.begin(), plan.end(), std::optional<size_t>(i)) == plan.end()) {
      EDGE_LOG_INFO("no longer listening on %s", listeners_[i].address.str().c_str());
    }
  }
  // The old snapshot's claims (moved-from for kept listeners) go with it.
  const size_t removed = listeners_.size() + added - listeners.size();
  listeners_ = std::move(listeners);
  runtime_ = next;
  out.ok = true;
  out.summary = "reloaded " + config->source + ": " + std::to_string(config->listen.size()) +
                " listeners (" + std::to_string(added) + " added, " + std::to_string(removed) +
                " removed), " + std::to_string(config->upstreams.size()) + " upstreams, " +
                std::to_string(config->routes.size()) + " routes; " + std::to_string(dropped) +
                " cache entries of removed route classes dropped";
  EDGE_LOG_INFO("%s", out.summary.c_str());
  return out;
}

}  // namespace edge
