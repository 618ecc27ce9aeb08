#include "proxy/upstream_counters.h"

namespace edge {

UpstreamTotals& UpstreamTotals::operator+=(const UpstreamTotals& other) {
  if (upstreams.size() < other.upstreams.size()) {
    upstreams.resize(other.upstreams.size());
  }
  for (size_t i = 0; i < other.upstreams.size(); ++i) {
    PerUpstream& to = upstreams[i];
    const PerUpstream& from = other.upstreams[i];
    to.connects += from.connects;
    for (size_t k = 0; k < kErrorKindCount; ++k) {
      to.failures[k] += from.failures[k];
    }
    to.retries += from.retries;
    to.ejections += from.ejections;
    to.idle += from.idle;
  }
  return *this;
}

UpstreamTotals UpstreamCounters::read() const {
  auto load = [](const Counter& c) { return c.load(std::memory_order_relaxed); };
  UpstreamTotals totals;
  totals.upstreams.resize(kSlots);
  for (size_t i = 0; i < kSlots; ++i) {
    UpstreamTotals::PerUpstream& to = totals.upstreams[i];
    const PerUpstream& from = upstreams_[i];
    to.connects = load(from.connects);
    for (size_t k = 0; k < kErrorKindCount; ++k) {
      to.failures[k] = load(from.failures[k]);
    }
    to.retries = load(from.retries);
    to.ejections = load(from.ejections);
    to.idle = load(from.idle);
  }
  return totals;
}

}  // namespace edge
