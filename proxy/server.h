// The main thread: opens the listening sockets, starts the workers, waits for SIGTERM/SIGINT
// and drains. Later it also owns config reload and the Redis subscriber.
#pragma once

#include <memory>
#include <vector>

#include "proxy/runtime.h"

namespace edge {

class Worker;

class Server {
 public:
  explicit Server(RuntimePtr runtime);
  ~Server();

  // Blocks until a signal has drained every worker. Returns the process exit code.
  int run();

 private:
  bool openListeners(unsigned workers, std::vector<std::vector<int>>& fds_per_worker);

  RuntimePtr runtime_;
  std::vector<config::HostPort> bound_;  // listen addresses with the ports actually bound
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace edge
