#include "lib/metrics/exposition.h"

#include <gtest/gtest.h>

#include <string>

namespace edge::metrics {
namespace {

TEST(ExpositionTest, LabelValuesEscapeBackslashQuoteAndNewline) {
  EXPECT_EQ(escapeLabelValue("plain"), "plain");
  EXPECT_EQ(escapeLabelValue("a\"b"), "a\\\"b");
  EXPECT_EQ(escapeLabelValue("a\\b"), "a\\\\b");
  EXPECT_EQ(escapeLabelValue("a\nb"), "a\\nb");
  EXPECT_EQ(escapeHelp("x\\y\nz\"q"), "x\\\\y\\nz\"q") << "HELP keeps quotes as they are";
}

TEST(ExpositionTest, AFamilyHasHelpAndTypeThenItsSamples) {
  TextWriter out;
  out.family("edge_proxy_x_total", Type::Counter, "Things.\nCounted.")
      .sample("edge_proxy_x_total", {{"class", "a\"b"}, {"status", "2xx"}}, uint64_t{7})
      .sample("edge_proxy_x_total", {}, uint64_t{0});
  out.family("edge_proxy_y", Type::Gauge, "A level.").sample("edge_proxy_y", {}, 0.25);
  EXPECT_EQ(out.take(),
            "# HELP edge_proxy_x_total Things.\\nCounted.\n"
            "# TYPE edge_proxy_x_total counter\n"
            "edge_proxy_x_total{class=\"a\\\"b\",status=\"2xx\"} 7\n"
            "edge_proxy_x_total 0\n"
            "# HELP edge_proxy_y A level.\n"
            "# TYPE edge_proxy_y gauge\n"
            "edge_proxy_y 0.25\n");
}

TEST(ExpositionTest, DurationsFallInTheFirstBucketTheyDoNotExceed) {
  EXPECT_EQ(latencyBucket(0), 0u);
  EXPECT_EQ(latencyBucket(1), 0u);
  EXPECT_EQ(latencyBucket(2), 1u);
  EXPECT_EQ(latencyBucket(5), 1u);
  EXPECT_EQ(latencyBucket(10000), kLatencyBoundsMs.size() - 1);
  EXPECT_EQ(latencyBucket(10001), kLatencyBoundsMs.size()) << "over 10 s: only +Inf";
}

TEST(ExpositionTest, HistogramBucketsAreCumulativeInSecondsUpToInfWithSumAndCount) {
  HistogramTotals h;
  for (uint64_t ms : {0, 1, 3, 3, 700, 60000}) {
    h.buckets[latencyBucket(ms)] += 1;
    h.sum_ms += ms;
  }
  TextWriter out;
  out.histogram("edge_proxy_d_seconds", {{"class", "api"}}, h);
  const std::string text = out.take();
  const std::string expected =
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"0.001\"} 2\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"0.005\"} 4\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"0.01\"} 4\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"0.025\"} 4\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"0.05\"} 4\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"0.1\"} 4\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"0.25\"} 4\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"0.5\"} 4\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"1\"} 5\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"2.5\"} 5\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"5\"} 5\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"10\"} 5\n"
      "edge_proxy_d_seconds_bucket{class=\"api\",le=\"+Inf\"} 6\n"
      "edge_proxy_d_seconds_sum{class=\"api\"} 60.707\n"
      "edge_proxy_d_seconds_count{class=\"api\"} 6\n";
  EXPECT_EQ(text, expected);
  EXPECT_EQ(h.count(), 6u);
}

TEST(ExpositionTest, HistogramTotalsAddBucketByBucket) {
  HistogramTotals a;
  HistogramTotals b;
  a.buckets[0] = 1;
  a.sum_ms = 1;
  b.buckets[0] = 2;
  b.buckets[kLatencyBucketCount - 1] = 1;
  b.sum_ms = 20000;
  a += b;
  EXPECT_EQ(a.buckets[0], 3u);
  EXPECT_EQ(a.buckets[kLatencyBucketCount - 1], 1u);
  EXPECT_EQ(a.sum_ms, 20001u);
  EXPECT_EQ(a.count(), 4u);
}

}  // namespace
}  // namespace edge::metrics
