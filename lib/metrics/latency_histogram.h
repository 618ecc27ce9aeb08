// Latency histograms in whole milliseconds (the worker clock's unit), exposed in seconds.
// Buckets from 1 ms to 10 s; one more counts everything slower (le="+Inf").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace edge::metrics {

inline constexpr std::array<uint64_t, 12> kLatencyBoundsMs = {1,   5,    10,   25,   50,   100,
                                                              250, 500, 1000, 2500, 5000, 10000};
inline constexpr size_t kLatencyBucketCount = kLatencyBoundsMs.size() + 1;

// The bucket a duration falls in: the first bound it does not exceed, else the last (+Inf).
constexpr size_t latencyBucket(uint64_t ms) {
  size_t i = 0;
  while (i < kLatencyBoundsMs.size() && ms > kLatencyBoundsMs[i]) {
    ++i;
  }
  return i;
}

// Plain numbers, summed over workers: per-bucket counts (not cumulative) and the sum in ms.
struct HistogramTotals {
  std::array<uint64_t, kLatencyBucketCount> buckets{};
  uint64_t sum_ms = 0;

  uint64_t count() const {
    uint64_t n = 0;
    for (uint64_t b : buckets) {
      n += b;
    }
    return n;
  }
  HistogramTotals& operator+=(const HistogramTotals& other) {
    for (size_t i = 0; i < buckets.size(); ++i) {
      buckets[i] += other.buckets[i];
    }
    sum_ms += other.sum_ms;
    return *this;
  }
};

}  // namespace edge::metrics
