// Active health checks of an upstream's servers: an HTTP/1.1 GET to each resolved address on
// a schedule, over the upstream's transport (TLS too). Part of UpstreamConfig.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace edge::config {

struct HealthCheckConfig {
  std::string path = "/";                       // origin-form, may carry a query
  std::chrono::milliseconds interval{5'000};    // from the end of one check to the next
  std::chrono::milliseconds timeout{2'000};     // connect, send and the response head
  uint32_t healthy_threshold = 2;     // consecutive passes that bring a server back
  uint32_t unhealthy_threshold = 3;   // consecutive failures that take it out
  // Inclusive status ranges that pass; default 200-399.
  std::vector<std::pair<int, int>> expected_statuses = {{200, 399}};
  std::string host;  // Host header of the check; empty: host_header, else the server's host:port

  bool expects(int status) const {
    for (const auto& [low, high] : expected_statuses) {
      if (status >= low && status <= high) {
        return true;
      }
    }
    return false;
  }

  bool operator==(const HealthCheckConfig&) const = default;
};

}  // namespace edge::config
