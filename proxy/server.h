// The main thread: opens the listening sockets, starts the workers, runs the admin API and the
// Redis subscriber on its own loop, reloads the config (SIGHUP, POST /reload) and drains on
// SIGTERM/SIGINT.
#pragma once

#include <uv.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "lib/cache/shared_cache.h"
#include "proxy/admin/admin_api.h"
#include "proxy/port_claim.h"
#include "proxy/runtime.h"

namespace edge {

class AccessLog;
class MainServices;
class Worker;

struct ServerOptions {
  int workers = -1;  // --workers: kept across reloads; -1 = the config decides
};

// A config's identity for port sharing: the digest of its file's bytes (or of the quick-mode
// addresses). Empty when the file cannot be read.
std::string configIdentity(const config::Config& config);

class Server {
 public:
  Server(RuntimePtr runtime, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Blocks until a signal has drained every worker. Returns the process exit code.
  int run();

 private:
  struct Bound {
    config::ListenConfig config;     // as written
    config::HostPort address;        // with the port actually bound
    std::vector<int> fds;            // per worker, until the workers take them
    net::PortClaim claim;            // see port_claim.h
  };

  bool openListener(const config::ListenConfig& listen, Bound& out, std::string& error);
  // Logs the outcome; attemptReload does the work (server_reload.cc).
  admin::ReloadOutcome reload();
  admin::ReloadOutcome attemptReload();
  admin::Readiness readiness() const;
  void beginShutdown(int signum);
  void drainWorkers();
  void onWorkersDone();
  static void onSignal(uv_signal_t* handle, int signum);

  RuntimePtr runtime_;
  const ServerOptions options_;
  std::string digest_;  // the config's identity in port claims
  unsigned worker_count_ = 0;
  std::vector<Bound> listeners_;
  std::unique_ptr<AccessLog> access_log_;  // outlives the workers, which write into it
  std::vector<std::unique_ptr<Worker>> workers_;
  cache::SharedCachePtr cache_;
  std::unique_ptr<MainServices> services_;

  uv_loop_t loop_{};
  uv_signal_t sigterm_{};
  uv_signal_t sigint_{};
  uv_signal_t sighup_{};
  uv_signal_t sigusr1_{};
  uv_timer_t drain_delay_{};
  uv_async_t workers_done_{};
  std::atomic<unsigned> running_{0};
  bool serving_ = false;   // every listener bound and every worker started
  bool draining_ = false;  // a stop signal came: /readyz fails from then on
  bool workers_draining_ = false;
};

}  // namespace edge
