// The admin API's GET /metrics body: every counter /stats has, plus per-class request series
// and latency histograms, in the Prometheus text format (lib/metrics/exposition.h). Pure: it
// formats numbers already read, so it runs on the admin thread without touching any loop.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/cache/store.h"
#include "lib/invalidation/stats.h"
#include "proxy/request_counters.h"

namespace edge::admin {

struct MetricsInputs {
  const RequestTotals& requests;  // with the per-class and per-upstream series
  const std::vector<std::string>& class_names;     // by slot (NameSlots::classes().names())
  const std::vector<std::string>& upstream_names;  // by slot (NameSlots::upstreams().names())
  const cache::StoreStats& store;
  const invalidation::InvalidationStats& invalidation;
  uint64_t coalesced_followers = 0;
  uint64_t coalescing_in_flight = 0;
  uint64_t invalid_json = 0;
  int64_t now_ms = 0;  // wall clock, for the age of the last applied purge
};

std::string renderMetrics(const MetricsInputs& in);

}  // namespace edge::admin
