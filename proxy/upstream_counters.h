// Per-worker counters of upstream connections, by upstream slot (metrics::NameSlots::upstreams(),
// stable across reloads): connections opened, failures by error kind (each attempt, retried
// ones included), retries, ejections, and idle pooled connections now. One writer per counter
// (the worker's thread); the admin API sums the workers' on read.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "lib/http/error_kind.h"
#include "lib/metrics/name_slots.h"
#include "proxy/upstream_totals.h"
#include "proxy/worker_counter.h"

namespace edge {

class alignas(64) UpstreamCounters {
 public:
  static constexpr size_t kSlots = metrics::NameSlots::kCapacity;

  // The owning worker's thread only.
  void connectStarted(metrics::Slot slot) { add(at(slot).connects, 1); }
  void failed(metrics::Slot slot, http::ErrorKind kind) {
    add(at(slot).failures[static_cast<size_t>(kind)], 1);
  }
  void retried(metrics::Slot slot) { add(at(slot).retries, 1); }
  void ejected(metrics::Slot slot) { add(at(slot).ejections, 1); }
  void idleAdded(metrics::Slot slot, uint64_t n) { add(at(slot).idle, n); }
  void idleRemoved(metrics::Slot slot, uint64_t n) { add(at(slot).idle, 0 - n); }

  // Any thread.
  UpstreamTotals read() const;

 private:
  using Counter = WorkerCounter;
  static void add(Counter& counter, uint64_t n) { addOnOwner(counter, n); }
  struct PerUpstream {
    Counter connects{0};
    std::array<Counter, kErrorKindCount> failures{};
    Counter retries{0};
    Counter ejections{0};
    Counter idle{0};
  };
  PerUpstream& at(metrics::Slot slot) {
    return upstreams_[slot < kSlots ? slot : metrics::NameSlots::kOther];
  }

  std::array<PerUpstream, kSlots> upstreams_{};
};

}  // namespace edge
