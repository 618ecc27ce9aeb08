// Round-robin over an upstream's servers with passive ejection: a server that fails
// `max_fails` times in a row is skipped for `fail_timeout`. Active health checks, when the
// upstream has them, take out servers the checks find unhealthy too. Pure logic, one per
// worker and upstream, so it needs no locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace edge::upstream {

// Whether active checks find a server healthy (read through atomics the checker writes).
class ServerHealthView {
 public:
  virtual bool healthy(size_t server) const = 0;

 protected:
  ~ServerHealthView() = default;
};

class Balancer {
 public:
  static constexpr size_t kNone = static_cast<size_t>(-1);

  // `health`: null when the upstream has no active checks; must outlive the balancer.
  Balancer(size_t server_count, uint32_t max_fails, uint64_t fail_timeout_ms,
           const ServerHealthView* health = nullptr);

  // The next server after the last pick that is healthy, not ejected and not in `tried`.
  // When no untried server is, a healthy one whose ejection ends first, else an unhealthy
  // one (failing open beats refusing all traffic). kNone when every server has been tried.
  size_t pick(uint64_t now_ms, const std::vector<bool>& tried);

  void reportSuccess(size_t server);
  // True when this failure ejects the server (it was not ejected before).
  bool reportFailure(size_t server, uint64_t now_ms);
  bool isEjected(size_t server, uint64_t now_ms) const;
  bool isHealthy(size_t server) const { return health_ == nullptr || health_->healthy(server); }
  // A reload kept this upstream: the new snapshot's checks replace the old ones.
  void setHealth(const ServerHealthView* health) { health_ = health; }
  size_t size() const { return servers_.size(); }

 private:
  struct ServerState {
    uint32_t consecutive_failures = 0;
    uint64_t ejected_until_ms = 0;
  };
  std::vector<ServerState> servers_;
  const uint32_t max_fails_;
  const uint64_t fail_timeout_ms_;
  const ServerHealthView* health_;
  size_t next_ = 0;
};

}  // namespace edge::upstream
