#include "proxy/admin/metrics_page.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace edge::admin {
namespace {

using filters::CacheOutcome;

class MetricsPageTest : public ::testing::Test {
 protected:
  std::string render() {
    MetricsInputs in{totals_, names_, upstream_names_, store_, invalidation_};
    in.now_ms = 10'000;
    return renderMetrics(in);
  }
  static bool has(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
  }

  RequestTotals totals_;
  std::vector<std::string> names_{"none", "other", "api", "we\"ird"};
  std::vector<std::string> upstream_names_{"none", "other", "app"};
  cache::StoreStats store_;
  invalidation::InvalidationStats invalidation_;
};

TEST_F(MetricsPageTest, RequestSeriesCarryClassStatusAndOutcomeLabels) {
  totals_.classes.resize(kClassSlotCount);
  totals_.classes[2].requests[2][static_cast<size_t>(CacheOutcome::Hit)] = 10;
  totals_.classes[3].requests[4][static_cast<size_t>(CacheOutcome::None)] = 1;
  totals_.classes[2].duration.buckets[0] = 10;
  const std::string text = render();
  EXPECT_TRUE(has(text, R"(edge_proxy_requests_total{class="api",status="2xx",cache="hit"} 10)"))
      << text;
  EXPECT_TRUE(has(text, R"(edge_proxy_requests_total{class="we\"ird",status="4xx",cache="none"} 1)"))
      << text;
  EXPECT_EQ(text.find(R"(cache="miss")"), std::string::npos) << "no series for zero counts";
  EXPECT_TRUE(has(text, R"(edge_proxy_request_duration_seconds_count{class="api"} 10)")) << text;
  EXPECT_EQ(text.find(R"(edge_proxy_request_duration_seconds_count{class="we)"),
            std::string::npos)
      << "a histogram appears once its class has a timed request";
}

TEST_F(MetricsPageTest, EveryFamilyHasHelpAndTypeAndStoreAndFeedNumbersAppear) {
  store_.bytes = 1234;
  store_.budget = 1 << 20;
  store_.evictions = 3;
  invalidation_.connected = true;
  invalidation_.subscribed = true;
  invalidation_.reconnects = 2;
  invalidation_.last_applied_us = 4'000'000;
  totals_.connections.connections_open = 4;
  const std::string text = render();
  EXPECT_TRUE(has(text, "edge_proxy_cache_memory_bytes 1234"));
  EXPECT_TRUE(has(text, "edge_proxy_cache_memory_budget_bytes 1048576"));
  EXPECT_TRUE(has(text, "edge_proxy_cache_evictions_total 3"));
  EXPECT_TRUE(has(text, "edge_proxy_invalidation_connected 1"));
  EXPECT_TRUE(has(text, "edge_proxy_invalidation_reconnects_total 2"));
  EXPECT_TRUE(has(text, "edge_proxy_purge_last_applied_timestamp_seconds 4"));
  EXPECT_TRUE(has(text, "edge_proxy_purge_last_applied_age_seconds 6"));
  EXPECT_TRUE(has(text, "edge_proxy_client_connections 4"));
  // Every sample's family was announced by HELP and TYPE just before its samples.
  size_t types = 0;
  size_t helps = 0;
  for (size_t at = text.find("# TYPE "); at != std::string::npos; at = text.find("# TYPE ", at + 1)) {
    ++types;
  }
  for (size_t at = text.find("# HELP "); at != std::string::npos; at = text.find("# HELP ", at + 1)) {
    ++helps;
  }
  EXPECT_EQ(types, helps);
  EXPECT_GT(types, 30u);
}

TEST_F(MetricsPageTest, UpstreamSeriesAreLabelledWithTheUpstreamName) {
  totals_.upstreams.upstreams.resize(3);
  auto& app = totals_.upstreams.upstreams[2];
  app.connects = 5;
  app.retries = 1;
  app.ejections = 1;
  app.idle = 2;
  app.failures[static_cast<size_t>(filters::ErrorKind::ConnectRefused)] = 3;
  const std::string text = render();
  EXPECT_TRUE(has(text, R"(edge_proxy_upstream_connects_total{upstream="app"} 5)")) << text;
  EXPECT_TRUE(has(text, R"(edge_proxy_upstream_retries_total{upstream="app"} 1)"));
  EXPECT_TRUE(has(text, R"(edge_proxy_upstream_ejections_total{upstream="app"} 1)"));
  EXPECT_TRUE(has(text, R"(edge_proxy_upstream_idle_connections{upstream="app"} 2)"));
  EXPECT_TRUE(
      has(text, R"(edge_proxy_upstream_failures_total{upstream="app",kind="connect_refused"} 3)"));
  EXPECT_EQ(text.find(R"(upstream="other")"), std::string::npos) << "no overflow, no other";
  EXPECT_EQ(text.find(R"(upstream="none")"), std::string::npos);
}

}  // namespace
}  // namespace edge::admin
