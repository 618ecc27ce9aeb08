#include "proxy/upstream/upstream_monitor.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <string>

#include "proxy/log.h"
#include "proxy/net_util.h"

namespace edge::upstream {
namespace {

bool isLiteralAddress(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string addressText(const sockaddr_storage& address) {
  const std::string ip = net::ipString(address);
  const uint16_t port = address.ss_family == AF_INET6
                            ? ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port)
                            : ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
  return config::HostPort{ip, port}.str();
}

bool sameAddresses(const AddressSet& set, const std::vector<sockaddr_storage>& addresses) {
  if (set.size() != addresses.size()) {
    return false;
  }
  return std::all_of(addresses.begin(), addresses.end(), [&](const sockaddr_storage& a) {
    return std::any_of(set.begin(), set.end(),
                       [&](const Target& t) { return sameAddress(t.address, a); });
  });
}

std::string checkHost(const config::UpstreamConfig& upstream, const config::HostPort& server) {
  if (!upstream.health_check->host.empty()) {
    return upstream.health_check->host;
  }
  return upstream.host_header ? *upstream.host_header : server.str();
}

}  // namespace

// Resolves one server name every interval with uv_getaddrinfo (off the loop thread). Frees
// itself once stopped and neither its timer nor a resolution is pending.
class NameResolver {
 public:
  NameResolver(uv_loop_t* loop, UpstreamMonitor& monitor, size_t upstream, size_t server,
               config::HostPort name, std::chrono::milliseconds interval)
      : monitor_(&monitor), upstream_(upstream), server_(server), name_(std::move(name)),
        interval_(interval) {
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    request_.data = this;
    schedule();
  }

  void stop() {
    monitor_ = nullptr;
    if (resolving_) {
      uv_cancel(reinterpret_cast<uv_req_t*>(&request_));  // the callback still comes
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), [](uv_handle_t* h) {
      auto* self = static_cast<NameResolver*>(h->data);
      self->timer_closed_ = true;
      self->maybeDelete();
    });
  }

 private:
  void schedule() {
    uv_timer_start(
        &timer_, [](uv_timer_t* t) { static_cast<NameResolver*>(t->data)->resolve(); },
        static_cast<uint64_t>(interval_.count()), 0);
  }

  void resolve() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    const std::string port = std::to_string(name_.port);
    const int rc = uv_getaddrinfo(timer_.loop, &request_, &NameResolver::onResolved,
                                  name_.host.c_str(), port.c_str(), &hints);
    if (rc != 0) {
      EDGE_LOG_WARN("cannot resolve %s again: %s; keeping its addresses", name_.str().c_str(),
                    uv_strerror(rc));
      schedule();
      return;
    }
    resolving_ = true;
  }

  static void onResolved(uv_getaddrinfo_t* req, int status, addrinfo* result) {
    auto* self = static_cast<NameResolver*>(req->data);
    self->resolving_ = false;
    std::vector<sockaddr_storage> addresses;
    if (status == 0) {
      addresses = net::addressesOf(result);
    }
    uv_freeaddrinfo(result);
    if (self->monitor_ == nullptr) {
      self->maybeDelete();
      return;
    }
    if (addresses.empty()) {
      EDGE_LOG_WARN("cannot resolve %s again: %s; keeping its addresses",
                    self->name_.str().c_str(),
                    status != 0 ? uv_strerror(status) : "no address");
    } else {
      self->monitor_->onResolved(self->upstream_, self->server_, addresses);
    }
    self->schedule();
  }

  void maybeDelete() {
    if (timer_closed_ && !resolving_) {
      delete this;
    }
  }

  UpstreamMonitor* monitor_;
  const size_t upstream_;
  const size_t server_;
  const config::HostPort name_;
  const std::chrono::milliseconds interval_;
  uv_timer_t timer_;
  uv_getaddrinfo_t request_;
  bool resolving_ = false;
  bool timer_closed_ = false;
};

UpstreamMonitor::UpstreamMonitor(uv_loop_t* loop, RuntimePtr runtime)
    : loop_(loop), runtime_(std::move(runtime)) {}

UpstreamMonitor::~UpstreamMonitor() { stop(); }

void UpstreamMonitor::start() {
  running_ = true;
  const auto& upstreams = runtime_->config->upstreams;
  watch_.resize(upstreams.size());
  for (size_t u = 0; u < upstreams.size(); ++u) {
    const config::UpstreamConfig& cfg = upstreams[u];
    watch_[u].resize(cfg.servers.size());
    for (size_t s = 0; s < cfg.servers.size(); ++s) {
      if (cfg.health_check) {
        syncProbes(u, s);
      }
      if (!isLiteralAddress(cfg.servers[s].host)) {
        watch_[u][s].resolver =
            new NameResolver(loop_, *this, u, s, cfg.servers[s], cfg.resolve_interval);
      }
    }
  }
}

void UpstreamMonitor::stop() {
  if (!running_) {
    return;
  }
  running_ = false;
  for (auto& servers : watch_) {
    for (ServerWatch& watch : servers) {
      for (HealthProbe* probe : watch.probes) {
        probe->stop();
      }
      watch.probes.clear();
      if (watch.resolver != nullptr) {
        watch.resolver->stop();
        watch.resolver = nullptr;
      }
    }
  }
}

void UpstreamMonitor::onResolved(size_t upstream, size_t server,
                                 const std::vector<sockaddr_storage>& addresses) {
  ServerAddresses& target = runtime_->addresses->upstream(upstream).server(server);
  const AddressSetPtr current = target.current();
  if (sameAddresses(*current, addresses)) {
    return;
  }
  target.publish(makeAddressSet(addresses, current.get()));
  std::string list;
  for (const sockaddr_storage& address : addresses) {
    list += (list.empty() ? "" : ", ") + addressText(address);
  }
  const config::UpstreamConfig& cfg = runtime_->config->upstreams[upstream];
  EDGE_LOG_INFO("upstream %s: %s now resolves to %s", cfg.name.c_str(),
                cfg.servers[server].str().c_str(), list.c_str());
  if (cfg.health_check) {
    syncProbes(upstream, server);
  }
}

void UpstreamMonitor::syncProbes(size_t upstream, size_t server) {
  const config::UpstreamConfig& cfg = runtime_->config->upstreams[upstream];
  ServerAddresses& addresses = runtime_->addresses->upstream(upstream).server(server);
  const AddressSetPtr set = addresses.current();
  std::vector<HealthProbe*>& probes = watch_[upstream][server].probes;
  // Stop the probes of addresses that are gone.
  std::erase_if(probes, [&](HealthProbe* probe) {
    const bool kept = std::any_of(set->begin(), set->end(), [&](const Target& t) {
      return sameAddress(t.address, probe->address());
    });
    if (!kept) {
      probe->stop();
    }
    return !kept;
  });
  // One spec per server: the Host header and the TLS name may differ between servers.
  auto spec = std::make_shared<const ProbeSpec>(ProbeSpec{
      *cfg.health_check, cfg.servers[server], checkHost(cfg, cfg.servers[server]),
      runtime_->upstream_tls[upstream]});
  for (const Target& target : *set) {
    const bool probed = std::any_of(probes.begin(), probes.end(), [&](HealthProbe* probe) {
      return sameAddress(probe->address(), target.address);
    });
    if (probed) {
      continue;
    }
    ServerAddresses* owner = &addresses;
    const std::string label = cfg.name + ": " + cfg.servers[server].str() + " at " +
                              addressText(target.address);
    probes.push_back(HealthProbe::start(
        loop_, spec, target, [owner, label](const HealthProbe& probe) {
          owner->refreshHealth();
          if (probe.state().healthy()) {
            EDGE_LOG_INFO("upstream %s is healthy again (%u checks passed)", label.c_str(),
                          probe.state().consecutiveSuccesses());
          } else {
            EDGE_LOG_WARN("upstream %s is unhealthy (%u checks failed, last: %s)", label.c_str(),
                          probe.state().consecutiveFailures(), probe.lastError().c_str());
          }
        }));
  }
  addresses.refreshHealth();
}

void UpstreamMonitor::report(admin::JsonWriter& json) const {
  json.beginArray();
  const auto& upstreams = runtime_->config->upstreams;
  for (size_t u = 0; u < upstreams.size(); ++u) {
    const UpstreamAddresses& book = runtime_->addresses->upstream(u);
    json.beginObject()
        .field("name", upstreams[u].name)
        .field("health_check", upstreams[u].health_check.has_value())
        .key("servers")
        .beginArray();
    for (size_t s = 0; s < book.size(); ++s) {
      json.beginObject()
          .field("server", upstreams[u].servers[s].str())
          .field("healthy", book.server(s).healthy())
          .key("addresses")
          .beginArray();
      const AddressSetPtr set = book.server(s).current();
      for (const Target& target : *set) {
        json.beginObject()
            .field("address", addressText(target.address))
            .field("healthy", target.health->healthy.load(std::memory_order_relaxed));
        for (const HealthProbe* probe : watch_[u][s].probes) {
          if (sameAddress(probe->address(), target.address)) {
            json.field("checks", probe->checks())
                .field("consecutive_successes",
                       static_cast<uint64_t>(probe->state().consecutiveSuccesses()))
                .field("consecutive_failures",
                       static_cast<uint64_t>(probe->state().consecutiveFailures()))
                .field("last_status", probe->lastStatus())
                .field("last_error", probe->lastError());
          }
        }
        json.endObject();
      }
      json.endArray().endObject();
    }
    json.endArray().endObject();
  }
  json.endArray();
}

}  // namespace edge::upstream
