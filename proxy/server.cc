#include "proxy/server.h"

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <sstream>
#include <set>
#include <thread>

#include "config/loader.h"
#include "proxy/cpu_limit.h"
#include "proxy/access_log.h"
#include "proxy/log.h"
#include "proxy/main_services.h"
#include "proxy/net_util.h"
#include "proxy/reload_plan.h"
#include "proxy/worker.h"

namespace edge {
namespace {

void closeFds(std::vector<int>& fds) {
  for (int fd : fds) {
    ::close(fd);
  }
  fds.clear();
}

// `workers: auto`: the CPUs the affinity mask and the cgroup quota leave this process.
unsigned autoWorkers() {
  const cpu::CpuLimit limit = cpu::usableCpus();
  const std::string quota = limit.quota ? std::to_string(*limit.quota) : std::string("none");
  EDGE_LOG_INFO("workers: auto: %u (CPU affinity %u, cgroup quota %s)", limit.workers,
                limit.affinity, quota.c_str());
  return limit.workers;
}

unsigned workerCount(const config::Config& config, const ServerOptions& options) {
  if (options.workers > 0) {
    return static_cast<unsigned>(options.workers);
  }
  if (config.workers > 0) {
    return config.workers;
  }
  return autoWorkers();
}


}  // namespace

std::string configIdentity(const config::Config& config) {
  if (config.source == "<quick>") {
    std::string text = "quick";
    for (const config::ListenConfig& listen : config.listen) {
      text += " " + listen.address.str();
    }
    for (const config::UpstreamConfig& upstream : config.upstreams) {
      for (const config::HostPort& server : upstream.servers) {
        text += " " + server.str();
      }
    }
    return net::configDigest(text);
  }
  std::ifstream file(config.source, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return file ? net::configDigest(text.str()) : std::string();
}

Server::Server(RuntimePtr runtime, ServerOptions options)
    : runtime_(std::move(runtime)), options_(options), digest_(configIdentity(*runtime_->config)) {}

Server::~Server() {
  for (Bound& bound : listeners_) {
    closeFds(bound.fds);
  }
}

bool Server::openListener(const config::ListenConfig& listen, Bound& out, std::string& error) {
  out.config = listen;
  sockaddr_storage addr{};
  if (!net::resolve(listen.address, addr, error)) {
    error = "listen " + listen.address.str() + ": " + error;
    return false;
  }
  if (listen.address.port != 0 && !net::maySharePort(addr, listen.address.str(), digest_, error)) {
    error = "listen " + listen.address.str() + ": " + error;
    return false;
  }
  for (unsigned w = 0; w < worker_count_; ++w) {
    int fd = net::openListenSocket(addr, error);
    if (fd < 0) {
      error = "listen " + listen.address.str() + ": " + error;
      closeFds(out.fds);
      return false;
    }
    if (w == 0) {
      // Port 0 means "any free port": every worker then shares the one the kernel chose.
      net::setPort(addr, net::boundPort(fd));
    }
    out.fds.push_back(fd);
  }
  out.address = config::HostPort{listen.address.host, net::boundPort(out.fds.front())};
  out.claim = net::PortClaim::make(out.address.str(), digest_);
  return true;
}

int Server::run() {
  std::signal(SIGPIPE, SIG_IGN);
  const config::Config& config = *runtime_->config;
  worker_count_ = workerCount(config, options_);
  std::string error;
  if (!MainServices::check(config, error)) {
    EDGE_LOG_ERROR("%s", error.c_str());
    return 1;
  }
  for (const config::ListenConfig& listen : config.listen) {
    listeners_.emplace_back();
    if (!openListener(listen, listeners_.back(), error)) {
      EDGE_LOG_ERROR("%s", error.c_str());
      return 1;
    }
  }
  const auto& log_config = config.access_log;
  if (log_config && log_config->enabled &&
      !(access_log_ = AccessLog::open(*log_config, worker_count_, error))) {
    EDGE_LOG_ERROR("%s", error.c_str());
    return 1;
  }
  uv_loop_init(&loop_);
  cache_ = std::make_shared<cache::SharedCache>(config.cache);
  services_ = std::make_unique<MainServices>();
  // Read on this thread by the admin API, which runs on the main loop only once every worker
  // below exists.
  auto request_totals = [this](bool with_classes) {
    RequestTotals totals;
    for (const auto& worker : workers_) {
      totals += worker->requestCounters().read(with_classes);
      if (with_classes) {
        totals.upstreams += worker->upstreamCounters().read();
      }
      totals.connections += worker->connectionCounters().read();
    }
    return totals;
  };
  admin::ServerControl control{[this] { return reload(); }, [this] { return readiness(); }};
  if (!services_->start(&loop_, config, digest_, *cache_, request_totals, control, error)) {
    EDGE_LOG_ERROR("%s", error.c_str());
    uv_run(&loop_, UV_RUN_DEFAULT);  // lets the failed listener close
    uv_loop_close(&loop_);
    return 1;
  }
  services_->watchUpstreams(&loop_, runtime_);
  for (uv_signal_t* signal : {&sigterm_, &sigint_, &sighup_}) {
    uv_signal_init(&loop_, signal);
    signal->data = this;
  }
  uv_signal_start(&sigterm_, &onSignal, SIGTERM);
  uv_signal_start(&sigint_, &onSignal, SIGINT);
  uv_signal_start(&sighup_, &onSignal, SIGHUP);
  uv_signal_init(&loop_, &sigusr1_);  // reopens the access log file (after logrotate)
  sigusr1_.data = access_log_.get();
  uv_signal_start(&sigusr1_, [](uv_signal_t* h, int) {
    if (h->data != nullptr) static_cast<AccessLog*>(h->data)->reopen();
  }, SIGUSR1);
  uv_unref(reinterpret_cast<uv_handle_t*>(&sigusr1_));
  uv_timer_init(&loop_, &drain_delay_);
  drain_delay_.data = this;
  uv_async_init(&loop_, &workers_done_, [](uv_async_t* h) {
    auto* self = static_cast<Server*>(h->data);
    if (self->running_.load() == 0) {
      self->onWorkersDone();
    }
  });
  workers_done_.data = this;

  running_ = worker_count_;
  for (unsigned w = 0; w < worker_count_; ++w) {
    std::vector<int> fds;
    for (Bound& bound : listeners_) {
      fds.push_back(bound.fds[w]);
    }
    workers_.push_back(std::make_unique<Worker>(w, runtime_, cache_, std::move(fds)));
    if (access_log_) {
      workers_.back()->setAccessLog(access_log_->config(), access_log_->buffer(w));
    }
    workers_.back()->setOnExit([this] {
      running_.fetch_sub(1);
      uv_async_send(&workers_done_);
    });
    workers_.back()->start();
  }
  for (Bound& bound : listeners_) {
    bound.fds.clear();  // the workers own them now
  }
  serving_ = true;
  // Only now: tests and scripts take this line to mean "ready, and signals are handled".
  for (const Bound& bound : listeners_) {
    EDGE_LOG_INFO("listening on %s (%u workers%s)", bound.address.str().c_str(), worker_count_,
                  bound.config.tls ? ", tls" : "");
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  for (auto& worker : workers_) {
    worker->join();
  }
  uv_loop_close(&loop_);
  EDGE_LOG_INFO("all workers drained; exiting");
  return 0;
}

void Server::onSignal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<Server*>(handle->data);
  if (signum == SIGHUP) {
    self->reload();  // logs what went wrong
    return;
  }
  self->beginShutdown(signum);
}

void Server::beginShutdown(int signum) {
  if (workers_draining_) {
    EDGE_LOG_WARN("signal %d again while draining; still waiting for in-flight requests", signum);
    return;
  }
  if (draining_) {
    EDGE_LOG_INFO("signal %d again: draining now, without waiting for the drain delay", signum);
    uv_timer_stop(&drain_delay_);
    drainWorkers();
    return;
  }
  draining_ = true;  // /readyz fails from now on
  const auto delay = static_cast<uint64_t>(runtime_->config->client_timeouts.drain_delay.count());
  if (delay == 0) {
    EDGE_LOG_INFO("signal %d: draining in-flight requests, then exiting", signum);
    drainWorkers();
    return;
  }
  EDGE_LOG_INFO("signal %d: not ready any more; still accepting for the drain delay (%llu ms), "
                "then draining in-flight requests and exiting",
                signum, static_cast<unsigned long long>(delay));
  uv_timer_start(&drain_delay_, [](uv_timer_t* t) {
    auto* self = static_cast<Server*>(t->data);
    EDGE_LOG_INFO("drain delay over: draining in-flight requests, then exiting");
    self->drainWorkers();
  }, delay, 0);
}

void Server::drainWorkers() {
  workers_draining_ = true;
  for (auto& worker : workers_) {
    worker->drain();
  }
}

void Server::onWorkersDone() {
  services_->stop();
  for (uv_signal_t* signal : {&sigterm_, &sigint_, &sighup_, &sigusr1_}) {
    uv_close(reinterpret_cast<uv_handle_t*>(signal), nullptr);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&drain_delay_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&workers_done_), nullptr);
}

admin::Readiness Server::readiness() const {
  admin::Readiness ready;
  if (!serving_) {
    ready.reasons.push_back("starting: listeners not bound yet");
  }
  if (draining_) {
    ready.reasons.push_back("draining: the proxy is stopping");
  }
  ready.ready = ready.reasons.empty();
  return ready;
}

}  // namespace edge
