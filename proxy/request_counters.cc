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
  return *this;
}

std::string_view outcomeName(filters::CacheOutcome outcome) {
  return kOutcomeNames[static_cast<size_t>(outcome)];
}

std::string_view errorKindName(filters::ErrorKind kind) {
  return kErrorKindNames[static_cast<size_t>(kind)];
}

std::string_view statusClassName(size_t status_class) { return kStatusClassNames[status_class]; }

void RequestCounters::record(const filters::RequestContext& ctx) {
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

RequestTotals RequestCounters::read() const {
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
  return totals;
}

}  // namespace edge
