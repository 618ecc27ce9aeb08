#include "proxy/request_counters.h"

namespace edge {
namespace {

constexpr std::array<std::string_view, kOutcomeCount> kOutcomeNames = {
    "none", "hit", "miss", "stale", "revalidated", "coalesced", "bypass"};
static_assert(kOutcomeNames.back() == "bypass", "a name for every CacheOutcome, in order");
constexpr std::array<std::string_view, kErrorKindCount> kErrorKindNames = {
    "none",
    "bad_request",
    "connect_refused",
    "connect_timeout",
    "upstream_tls",
    "first_byte_timeout",
    "upstream_reset",
    "upstream_protocol",
    "over_limit",
    "encoding_failed",
    "aborted",
};
static_assert(kErrorKindNames.back() == "aborted", "a name for every ErrorKind, in order");
constexpr std::array<std::string_view, kStatusClassCount> kStatusClassNames = {
    "none", "1xx", "2xx", "3xx", "4xx", "5xx"};

}  // namespace

RequestTotals& RequestTotals::operator+=(const RequestTotals& other) {
  requests += other.requests;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    outcomes[i] += other.outcomes[i];
  }
  for (size_t i = 0; i < statuses.size(); ++i) {
    statuses[i] += other.statuses[i];
  }
  for (size_t i = 0; i < errors.size(); ++i) {
    errors[i] += other.errors[i];
  }
  bytes_in += other.bytes_in;
  bytes_out += other.bytes_out;
  connections += other.connections;
  upstreams += other.upstreams;
  if (classes.size() < other.classes.size()) {
    classes.resize(other.classes.size());
  }
  for (size_t i = 0; i < other.classes.size(); ++i) {
    classes[i] += other.classes[i];
  }
  return *this;
}

ClassTotals& ClassTotals::operator+=(const ClassTotals& other) {
  for (size_t s = 0; s < kStatusClassCount; ++s) {
    for (size_t o = 0; o < kOutcomeCount; ++o) {
      requests[s][o] += other.requests[s][o];
    }
  }
  duration += other.duration;
  upstream += other.upstream;
  return *this;
}

std::string_view outcomeName(filters::CacheOutcome outcome) {
  return kOutcomeNames[static_cast<size_t>(outcome)];
}

std::string_view errorKindName(filters::ErrorKind kind) {
  return kErrorKindNames[static_cast<size_t>(kind)];
}

std::string_view statusClassName(size_t status_class) { return kStatusClassNames[status_class]; }

void RequestCounters::observe(Histogram& histogram, uint64_t ms) {
  add(histogram.buckets[metrics::latencyBucket(ms)], 1);
  add(histogram.sum_ms, ms);
}

metrics::HistogramTotals RequestCounters::load(const Histogram& histogram) {
  metrics::HistogramTotals totals;
  for (size_t i = 0; i < metrics::kLatencyBucketCount; ++i) {
    totals.buckets[i] = histogram.buckets[i].load(std::memory_order_relaxed);
  }
  totals.sum_ms = histogram.sum_ms.load(std::memory_order_relaxed);
  return totals;
}

void RequestCounters::record(const filters::RequestContext& ctx, metrics::Slot slot) {
  PerClass& per_class = classes_[slot < kClassSlotCount ? slot : metrics::NameSlots::kOther];
  add(per_class.requests[statusClass(ctx.status)][static_cast<size_t>(ctx.outcome)], 1);
  const filters::Timings& t = ctx.timings;
  if (t.done >= t.headers_read) {
    observe(per_class.duration, t.done - t.headers_read);
  }
  if (t.upstream_connected != 0 && t.upstream_first_byte >= t.upstream_connected) {
    observe(per_class.upstream, t.upstream_first_byte - t.upstream_connected);
  }
  add(requests_, 1);
  add(outcomes_[static_cast<size_t>(ctx.outcome)], 1);
  add(statuses_[statusClass(ctx.status)], 1);
  if (ctx.error != filters::ErrorKind::None) {
    add(errors_[static_cast<size_t>(ctx.error)], 1);
  }
  if (ctx.bytes_in != 0) {
    add(bytes_in_, ctx.bytes_in);
  }
  add(bytes_out_, ctx.bytes_out);
}

RequestTotals RequestCounters::read(bool with_classes) const {
  RequestTotals totals;
  totals.requests = requests_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kOutcomeCount; ++i) {
    totals.outcomes[i] = outcomes_[i].load(std::memory_order_relaxed);
  }
  for (size_t i = 0; i < kStatusClassCount; ++i) {
    totals.statuses[i] = statuses_[i].load(std::memory_order_relaxed);
  }
  for (size_t i = 0; i < kErrorKindCount; ++i) {
    totals.errors[i] = errors_[i].load(std::memory_order_relaxed);
  }
  totals.bytes_in = bytes_in_.load(std::memory_order_relaxed);
  totals.bytes_out = bytes_out_.load(std::memory_order_relaxed);
  if (with_classes) {
    totals.classes.resize(kClassSlotCount);
    for (size_t c = 0; c < kClassSlotCount; ++c) {
      for (size_t s = 0; s < kStatusClassCount; ++s) {
        for (size_t o = 0; o < kOutcomeCount; ++o) {
          totals.classes[c].requests[s][o] =
              classes_[c].requests[s][o].load(std::memory_order_relaxed);
        }
      }
      totals.classes[c].duration = load(classes_[c].duration);
      totals.classes[c].upstream = load(classes_[c].upstream);
    }
  }
  return totals;
}

}  // namespace edge
