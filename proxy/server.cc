#include "proxy/server.h"

#include <uv.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "proxy/access_log.h"
#include "proxy/log.h"
#include "proxy/main_services.h"
#include "proxy/net_util.h"
#include "proxy/worker.h"

namespace edge {
namespace {

// Main-loop state for the signal handlers.
struct MainLoop {
  uv_loop_t loop;
  uv_signal_t sigterm;
  uv_signal_t sigint;
  uv_async_t workers_done;
  std::atomic<unsigned> running{0};
  std::vector<std::unique_ptr<Worker>>* workers = nullptr;
  MainServices* services = nullptr;
  bool draining = false;
};

void onSignal(uv_signal_t* handle, int signum) {
  auto* main = static_cast<MainLoop*>(handle->data);
  if (main->draining) {
    EDGE_LOG_WARN("signal %d again while draining; still waiting for in-flight requests", signum);
    return;
  }
  main->draining = true;
  EDGE_LOG_INFO("signal %d: draining in-flight requests, then exiting", signum);
  for (auto& worker : *main->workers) {
    worker->drain();
  }
}

}  // namespace

Server::Server(RuntimePtr runtime) : runtime_(std::move(runtime)) {}

Server::~Server() = default;

bool Server::openListeners(unsigned workers, std::vector<std::vector<int>>& fds_per_worker) {
  fds_per_worker.assign(workers, {});
  for (const config::ListenConfig& listener : runtime_->config->listen) {
    const config::HostPort& listen = listener.address;
    sockaddr_storage addr{};
    std::string error;
    if (!net::resolve(listen, addr, error)) {
      EDGE_LOG_ERROR("listen %s: %s", listen.str().c_str(), error.c_str());
      return false;
    }
    for (unsigned w = 0; w < workers; ++w) {
      int fd = net::openListenSocket(addr, error);
      if (fd < 0) {
        EDGE_LOG_ERROR("listen %s: %s", listen.str().c_str(), error.c_str());
        return false;
      }
      if (w == 0) {
        // Port 0 means "any free port": every worker then shares the one the kernel chose.
        net::setPort(addr, net::boundPort(fd));
      }
      fds_per_worker[w].push_back(fd);
    }
    bound_.push_back(config::HostPort{listen.host, net::boundPort(fds_per_worker[0].back())});
  }
  return true;
}

int Server::run() {
  std::signal(SIGPIPE, SIG_IGN);
  unsigned workers = runtime_->config->workers;
  if (workers == 0) {
    workers = std::max(1u, std::thread::hardware_concurrency());
  }
  std::string error;
  if (!MainServices::check(*runtime_->config, error)) {
    EDGE_LOG_ERROR("%s", error.c_str());
    return 1;
  }
  std::vector<std::vector<int>> fds;
  if (!openListeners(workers, fds)) {
    return 1;
  }
  std::unique_ptr<AccessLog> access_log;
  const auto& log_config = runtime_->config->access_log;
  if (log_config && log_config->enabled &&
      !(access_log = AccessLog::open(*log_config, workers, error))) {
    EDGE_LOG_ERROR("%s", error.c_str());
    return 1;
  }

  MainLoop main;
  uv_loop_init(&main.loop);
  auto shared_cache = std::make_shared<cache::SharedCache>(runtime_->config->cache);
  MainServices services;
  // Read on this thread by the admin API, which runs on the main loop only once every worker
  // below exists.
  auto request_totals = [this] {
    RequestTotals totals;
    for (const auto& worker : workers_) {
      totals += worker->requestCounters().read();
      totals.connections += worker->connectionCounters().read();
    }
    return totals;
  };
  if (!services.start(&main.loop, *runtime_->config, *shared_cache, request_totals, error)) {
    EDGE_LOG_ERROR("%s", error.c_str());
    uv_run(&main.loop, UV_RUN_DEFAULT);  // lets the failed listener close
    uv_loop_close(&main.loop);
    return 1;
  }
  main.services = &services;
  uv_signal_t sigusr1;  // reopens the access log file (after logrotate renamed it)
  uv_signal_init(&main.loop, &sigusr1);
  sigusr1.data = access_log.get();
  uv_signal_start(&sigusr1, [](uv_signal_t* h, int) {
    if (h->data != nullptr) static_cast<AccessLog*>(h->data)->reopen();
  }, SIGUSR1);
  uv_unref(reinterpret_cast<uv_handle_t*>(&sigusr1));
  main.workers = &workers_;
  uv_signal_init(&main.loop, &main.sigterm);
  uv_signal_init(&main.loop, &main.sigint);
  main.sigterm.data = main.sigint.data = &main;
  uv_signal_start(&main.sigterm, &onSignal, SIGTERM);
  uv_signal_start(&main.sigint, &onSignal, SIGINT);
  uv_async_init(&main.loop, &main.workers_done, [](uv_async_t* h) {
    auto* m = static_cast<MainLoop*>(h->data);
    if (m->running.load() == 0) {
      m->services->stop();
      uv_close(reinterpret_cast<uv_handle_t*>(&m->sigterm), nullptr);
      uv_close(reinterpret_cast<uv_handle_t*>(&m->sigint), nullptr);
      uv_close(reinterpret_cast<uv_handle_t*>(&m->workers_done), nullptr);
    }
  });
  main.workers_done.data = &main;

  main.running = workers;
  for (unsigned w = 0; w < workers; ++w) {
    workers_.push_back(std::make_unique<Worker>(w, runtime_, shared_cache, std::move(fds[w])));
    if (access_log) {
      workers_.back()->setAccessLog(access_log->config(), access_log->buffer(w));
    }
    workers_.back()->setOnExit([&main] {
      main.running.fetch_sub(1);
      uv_async_send(&main.workers_done);
    });
    workers_.back()->start();
  }
  // Only now: tests and scripts take this line to mean "ready, and signals are handled".
  for (size_t i = 0; i < bound_.size(); ++i) {
    EDGE_LOG_INFO("listening on %s (%u workers%s)", bound_[i].str().c_str(), workers,
                  runtime_->config->listen[i].tls ? ", tls" : "");
  }
  uv_run(&main.loop, UV_RUN_DEFAULT);
  for (auto& worker : workers_) {
    worker->join();
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&sigusr1), nullptr);
  uv_run(&main.loop, UV_RUN_DEFAULT);
  uv_loop_close(&main.loop);
  EDGE_LOG_INFO("all workers drained; exiting");
  return 0;
}

}  // namespace edge
