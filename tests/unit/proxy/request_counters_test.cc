#include "proxy/request_counters.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace edge {
namespace {

using filters::CacheOutcome;
using filters::ErrorKind;

size_t at(CacheOutcome outcome) { return static_cast<size_t>(outcome); }
size_t at(ErrorKind kind) { return static_cast<size_t>(kind); }

filters::RequestContext request(CacheOutcome outcome, int status, ErrorKind error = ErrorKind::None,
                                uint64_t bytes_in = 0, uint64_t bytes_out = 0) {
  filters::RequestContext ctx;
  ctx.outcome = outcome;
  ctx.status = status;
  ctx.error = error;
  ctx.bytes_in = bytes_in;
  ctx.bytes_out = bytes_out;
  return ctx;
}

TEST(RequestCountersTest, StatusClassesAreTheHundredsAndNoneForNoStatus) {
  EXPECT_EQ(statusClass(0), 0u);
  EXPECT_EQ(statusClass(99), 0u);
  EXPECT_EQ(statusClass(100), 1u);
  EXPECT_EQ(statusClass(204), 2u);
  EXPECT_EQ(statusClass(304), 3u);
  EXPECT_EQ(statusClass(404), 4u);
  EXPECT_EQ(statusClass(599), 5u);
  EXPECT_EQ(statusClass(600), 0u);
  EXPECT_EQ(statusClassName(0), "none");
  EXPECT_EQ(statusClassName(5), "5xx");
}

TEST(RequestCountersTest, EachRequestLandsInOneBucketOfEachKind) {
  RequestCounters counters;
  counters.record(request(CacheOutcome::Hit, 200, ErrorKind::None, 0, 100));
  counters.record(request(CacheOutcome::Miss, 200, ErrorKind::None, 0, 50));
  counters.record(request(CacheOutcome::Bypass, 201, ErrorKind::None, 7, 10));
  counters.record(request(CacheOutcome::None, 404, ErrorKind::BadRequest, 0, 0));
  counters.record(request(CacheOutcome::None, 502, ErrorKind::ConnectRefused));
  counters.record(request(CacheOutcome::Bypass, 200, ErrorKind::Aborted, 0, 3));
  counters.record(request(CacheOutcome::None, 0));  // the client left before an answer

  const RequestTotals t = counters.read();
  EXPECT_EQ(t.requests, 7u);
  EXPECT_EQ(t.outcomes[at(CacheOutcome::Hit)], 1u);
  EXPECT_EQ(t.outcomes[at(CacheOutcome::Miss)], 1u);
  EXPECT_EQ(t.outcomes[at(CacheOutcome::Bypass)], 2u);
  EXPECT_EQ(t.outcomes[at(CacheOutcome::None)], 3u);
  EXPECT_EQ(t.statuses[0], 1u);
  EXPECT_EQ(t.statuses[2], 4u);
  EXPECT_EQ(t.statuses[4], 1u);
  EXPECT_EQ(t.statuses[5], 1u);
  EXPECT_EQ(t.errors[at(ErrorKind::None)], 0u) << "only errors are counted";
  EXPECT_EQ(t.errors[at(ErrorKind::BadRequest)], 1u);
  EXPECT_EQ(t.errors[at(ErrorKind::ConnectRefused)], 1u);
  EXPECT_EQ(t.errors[at(ErrorKind::Aborted)], 1u);
  EXPECT_EQ(t.bytes_in, 7u);
  EXPECT_EQ(t.bytes_out, 163u);

  uint64_t by_outcome = 0;
  uint64_t by_status = 0;
  for (uint64_t n : t.outcomes) by_outcome += n;
  for (uint64_t n : t.statuses) by_status += n;
  EXPECT_EQ(by_outcome, t.requests);
  EXPECT_EQ(by_status, t.requests);
}

TEST(RequestCountersTest, TotalsSumFieldByField) {
  RequestCounters a;
  RequestCounters b;
  a.record(request(CacheOutcome::Hit, 200, ErrorKind::None, 1, 10));
  b.record(request(CacheOutcome::Hit, 200, ErrorKind::None, 2, 20));
  b.record(request(CacheOutcome::Coalesced, 504, ErrorKind::FirstByteTimeout, 0, 5));
  RequestTotals sum;
  sum += a.read();
  sum += b.read();
  EXPECT_EQ(sum.requests, 3u);
  EXPECT_EQ(sum.outcomes[at(CacheOutcome::Hit)], 2u);
  EXPECT_EQ(sum.outcomes[at(CacheOutcome::Coalesced)], 1u);
  EXPECT_EQ(sum.statuses[2], 2u);
  EXPECT_EQ(sum.statuses[5], 1u);
  EXPECT_EQ(sum.errors[at(ErrorKind::FirstByteTimeout)], 1u);
  EXPECT_EQ(sum.bytes_in, 3u);
  EXPECT_EQ(sum.bytes_out, 35u);
}

filters::RequestContext timed(CacheOutcome outcome, int status, uint64_t start, uint64_t done,
                              uint64_t connected = 0, uint64_t first_byte = 0) {
  filters::RequestContext ctx = request(outcome, status);
  ctx.timings.headers_read = start;
  ctx.timings.done = done;
  ctx.timings.upstream_connected = connected;
  ctx.timings.upstream_first_byte = first_byte;
  return ctx;
}

TEST(RequestCountersTest, ClassSeriesCountByStatusAndOutcomeAndTimeEachRequest) {
  RequestCounters a;
  RequestCounters b;
  const metrics::Slot api = 5;
  const metrics::Slot assets = 9;
  a.record(timed(CacheOutcome::Hit, 200, 100, 100), api);
  a.record(timed(CacheOutcome::Hit, 200, 100, 103), api);
  b.record(timed(CacheOutcome::Miss, 200, 100, 180, 110, 170), api);
  b.record(timed(CacheOutcome::None, 404, 100, 100), assets);

  RequestTotals sum;
  sum += a.read(true);
  sum += b.read(true);
  ASSERT_EQ(sum.classes.size(), kClassSlotCount);
  const ClassTotals& c = sum.classes[api];
  EXPECT_EQ(c.requests[2][at(CacheOutcome::Hit)], 2u);
  EXPECT_EQ(c.requests[2][at(CacheOutcome::Miss)], 1u);
  EXPECT_EQ(sum.classes[assets].requests[4][at(CacheOutcome::None)], 1u);
  EXPECT_EQ(c.duration.count(), 3u) << "every request is timed";
  EXPECT_EQ(c.duration.sum_ms, 0u + 3u + 80u);
  EXPECT_EQ(c.duration.buckets[metrics::latencyBucket(80)], 1u);
  EXPECT_EQ(c.upstream.count(), 1u) << "only requests that went upstream";
  EXPECT_EQ(c.upstream.sum_ms, 60u);
  EXPECT_EQ(sum.classes[metrics::NameSlots::kNone].duration.count(), 0u);
  EXPECT_TRUE(a.read().classes.empty()) << "/stats does not read the class series";
}

TEST(RequestCountersTest, ASlotPastTheArrayCountsAsOther) {
  RequestCounters counters;
  counters.record(request(CacheOutcome::Hit, 200), static_cast<metrics::Slot>(999));
  const RequestTotals t = counters.read(true);
  EXPECT_EQ(t.classes[metrics::NameSlots::kOther].requests[2][at(CacheOutcome::Hit)], 1u);
}

// One writer thread per counters object, as with the workers, and a reader summing meanwhile:
// every sum read is at most the final one, and the final one is exact.
TEST(RequestCountersTest, ReadersSumWhileWorkersWrite) {
  constexpr int kWorkers = 4;
  constexpr uint64_t kPerWorker = 20000;
  std::vector<RequestCounters> counters(kWorkers);
  auto sum = [&counters] {
    RequestTotals totals;
    for (const RequestCounters& c : counters) {
      totals += c.read();
    }
    return totals;
  };
  std::vector<std::thread> writers;
  for (int w = 0; w < kWorkers; ++w) {
    writers.emplace_back([&counters, w] {
      for (uint64_t i = 0; i < kPerWorker; ++i) {
        const CacheOutcome outcome = i % 2 == 0 ? CacheOutcome::Hit : CacheOutcome::Miss;
        counters[static_cast<size_t>(w)].record(request(outcome, 200, ErrorKind::None, 0, 2));
      }
    });
  }
  uint64_t last = 0;
  for (int i = 0; i < 100; ++i) {
    const uint64_t now = sum().requests;
    EXPECT_GE(now, last) << "a counter never goes back";
    last = now;
  }
  for (std::thread& t : writers) {
    t.join();
  }
  const RequestTotals t = sum();
  EXPECT_EQ(t.requests, kWorkers * kPerWorker);
  EXPECT_EQ(t.outcomes[at(CacheOutcome::Hit)] + t.outcomes[at(CacheOutcome::Miss)], t.requests);
  EXPECT_EQ(t.bytes_out, 2 * kWorkers * kPerWorker);
}

TEST(RequestCountersTest, EveryBucketHasAName) {
  EXPECT_EQ(outcomeName(CacheOutcome::None), "none");
  EXPECT_EQ(outcomeName(CacheOutcome::Hit), "hit");
  EXPECT_EQ(outcomeName(CacheOutcome::Revalidated), "revalidated");
  EXPECT_EQ(outcomeName(CacheOutcome::Bypass), "bypass");
  EXPECT_EQ(errorKindName(ErrorKind::BadRequest), "bad_request");
  EXPECT_EQ(errorKindName(ErrorKind::FirstByteTimeout), "first_byte_timeout");
  EXPECT_EQ(errorKindName(ErrorKind::Aborted), "aborted");
}

}  // namespace
}  // namespace edge
