// Request counters: each worker owns one RequestCounters and adds every finished request to it
// in the log phase; the admin API sums the workers' counters on read. One writer per counter
// (the worker's thread), so relaxed atomic adds need no lock and a reader sees whole values.
// The sum of several counters read at one moment may be a request apart (no snapshot).
// Per route class (by metrics::NameSlots slot, stable across reloads): requests by status
// class and cache outcome, and histograms of the request's duration and of upstream time.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "filters/chain/request_context.h"
#include "lib/metrics/name_slots.h"
#include "lib/metrics/latency_histogram.h"
#include "proxy/connection_counters.h"
#include "proxy/upstream_totals.h"
#include "proxy/worker_counter.h"

namespace edge {

inline constexpr size_t kOutcomeCount = static_cast<size_t>(filters::CacheOutcome::Bypass) + 1;
// Index 0: no status (the client left before an answer); 1..5: 1xx..5xx.
inline constexpr size_t kStatusClassCount = 6;
inline constexpr size_t kClassSlotCount = metrics::NameSlots::kCapacity;

// One route class's numbers: [status class][cache outcome], and the two latency histograms.
struct ClassTotals {
  std::array<std::array<uint64_t, kOutcomeCount>, kStatusClassCount> requests{};
  metrics::HistogramTotals duration;  // headers read -> response done
  metrics::HistogramTotals upstream;  // connection took the request -> response head

  ClassTotals& operator+=(const ClassTotals& other);
};

// Plain numbers: one worker's counters as read, or the sum over all workers.
struct RequestTotals {
  uint64_t requests = 0;
  std::array<uint64_t, kOutcomeCount> outcomes{};      // by filters::CacheOutcome
  std::array<uint64_t, kStatusClassCount> statuses{};  // by statusClass()
  std::array<uint64_t, kErrorKindCount> errors{};      // by filters::ErrorKind; [None] stays 0
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  ConnectionTotals connections;  // not requests, but read with them
  // By class slot; heap-held (256 slots of a few hundred bytes each). Empty when not read.
  std::vector<ClassTotals> classes;
  UpstreamTotals upstreams;  // by upstream slot; filled with the classes

  RequestTotals& operator+=(const RequestTotals& other);
};

// 1..5 for 1xx..5xx, 0 for no (or an impossible) status.
constexpr size_t statusClass(int status) {
  return status >= 100 && status < 600 ? static_cast<size_t>(status / 100) : 0;
}

// The names /stats gives the buckets: "hit", "connect_refused", "2xx", ...
std::string_view outcomeName(filters::CacheOutcome outcome);
std::string_view errorKindName(filters::ErrorKind kind);
std::string_view statusClassName(size_t status_class);

// Cache lines of their own: workers never share one.
class alignas(64) RequestCounters {
 public:
  // The owning worker's thread only: one finished request of the class in `slot`.
  void record(const filters::RequestContext& ctx,
              metrics::Slot slot = metrics::NameSlots::kNone);
  // Any thread. `with_classes`: also the per-class series (for /metrics).
  RequestTotals read(bool with_classes = false) const;

 private:
  using Counter = WorkerCounter;
  static void add(Counter& counter, uint64_t n) { addOnOwner(counter, n); }

  Counter requests_{0};
  std::array<Counter, kOutcomeCount> outcomes_{};
  std::array<Counter, kStatusClassCount> statuses_{};
  std::array<Counter, kErrorKindCount> errors_{};
  Counter bytes_in_{0};
  Counter bytes_out_{0};

  struct Histogram {
    std::array<Counter, metrics::kLatencyBucketCount> buckets{};
    Counter sum_ms{0};
  };
  struct PerClass {
    std::array<std::array<Counter, kOutcomeCount>, kStatusClassCount> requests{};
    Histogram duration;
    Histogram upstream;
  };
  static void observe(Histogram& histogram, uint64_t ms);
  static metrics::HistogramTotals load(const Histogram& histogram);
  std::array<PerClass, kClassSlotCount> classes_{};
};

}  // namespace edge
