#include "proxy/upstream/balancer.h"

namespace edge::upstream {

Balancer::Balancer(size_t server_count, uint32_t max_fails, uint64_t fail_timeout_ms,
                   const ServerHealthView* health)
    : servers_(server_count), max_fails_(max_fails == 0 ? 1 : max_fails),
      fail_timeout_ms_(fail_timeout_ms), health_(health) {}

size_t Balancer::pick(uint64_t now_ms, const std::vector<bool>& tried) {
  size_t n = servers_.size();
  size_t fallback = kNone;
  bool fallback_healthy = false;
  for (size_t step = 0; step < n; ++step) {
    size_t i = (next_ + step) % n;
    if (i < tried.size() && tried[i]) {
      continue;
    }
    const bool healthy = isHealthy(i);
    if (healthy && !isEjected(i, now_ms)) {
      next_ = (i + 1) % n;
      return i;
    }
    // Healthy beats unhealthy; then the ejection that ends first.
    if (fallback == kNone || (healthy && !fallback_healthy) ||
        (healthy == fallback_healthy &&
         servers_[i].ejected_until_ms < servers_[fallback].ejected_until_ms)) {
      fallback = i;
      fallback_healthy = healthy;
    }
  }
  if (fallback != kNone) {
    next_ = (fallback + 1) % n;
  }
  return fallback;
}

void Balancer::reportSuccess(size_t server) {
  servers_[server].consecutive_failures = 0;
  servers_[server].ejected_until_ms = 0;
}

bool Balancer::reportFailure(size_t server, uint64_t now_ms) {
  ServerState& s = servers_[server];
  if (++s.consecutive_failures < max_fails_) {
    return false;
  }
  const bool newly = !isEjected(server, now_ms);
  s.ejected_until_ms = now_ms + fail_timeout_ms_;
  return newly;
}

bool Balancer::isEjected(size_t server, uint64_t now_ms) const {
  return servers_[server].ejected_until_ms > now_ms;
}

}  // namespace edge::upstream
