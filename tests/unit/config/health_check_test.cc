// An upstream's `health_check` section and `resolve_interval`.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "config/loader.h"
#include "tests/unit/config/config_test_support.h"

namespace edge::config {
namespace {

using test_support::loadYaml;
using test_support::formatted;

using namespace std::chrono_literals;

// A config whose upstream `app` carries `body` (indented by four spaces) after its servers.
std::string withUpstream(const std::string& body) {
  return "listen: 127.0.0.1:8080\n"
         "upstreams:\n"
         "  app:\n"
         "    servers: [127.0.0.1:3000]\n" +
         body +
         "routes:\n"
         "  - upstream: app\n";
}

const UpstreamConfig* appOf(const LoadResult& result) {
  EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors[0].format());
  return result.config ? &result.config->upstreams.front() : nullptr;
}

TEST(HealthCheckConfigTest, AbsentMeansNoChecksAndTheDefaultResolveInterval) {
  const LoadResult result = loadYaml(withUpstream(""));
  const UpstreamConfig* app = appOf(result);
  ASSERT_NE(app, nullptr);
  EXPECT_FALSE(app->health_check.has_value());
  EXPECT_EQ(app->resolve_interval, 30s);
}

TEST(HealthCheckConfigTest, AnEmptySectionTurnsChecksOnWithTheDefaults) {
  const LoadResult result = loadYaml(withUpstream("    health_check: {}\n"));
  const UpstreamConfig* app = appOf(result);
  ASSERT_NE(app, nullptr);
  ASSERT_TRUE(app->health_check.has_value());
  const HealthCheckConfig& check = *app->health_check;
  EXPECT_EQ(check.path, "/");
  EXPECT_EQ(check.interval, 5s);
  EXPECT_EQ(check.timeout, 2s);
  EXPECT_EQ(check.healthy_threshold, 2u);
  EXPECT_EQ(check.unhealthy_threshold, 3u);
  EXPECT_TRUE(check.expects(200));
  EXPECT_TRUE(check.expects(399));
  EXPECT_FALSE(check.expects(400));
  EXPECT_FALSE(check.expects(199));
  EXPECT_EQ(check.host, "");
}

TEST(HealthCheckConfigTest, ReadsEveryKey) {
  const LoadResult result = loadYaml(withUpstream(
      "    resolve_interval: 5s\n"
      "    health_check:\n"
      "      path: /healthz?deep=1\n"
      "      interval: 250ms\n"
      "      timeout: 1s\n"
      "      healthy_threshold: 4\n"
      "      unhealthy_threshold: 1\n"
      "      expected_statuses: [204, 3xx, \"418-420\"]\n"
      "      host: health.internal\n"));
  const UpstreamConfig* app = appOf(result);
  ASSERT_NE(app, nullptr);
  ASSERT_TRUE(app->health_check.has_value());
  const HealthCheckConfig& check = *app->health_check;
  EXPECT_EQ(app->resolve_interval, 5s);
  EXPECT_EQ(check.path, "/healthz?deep=1");
  EXPECT_EQ(check.interval, 250ms);
  EXPECT_EQ(check.timeout, 1s);
  EXPECT_EQ(check.healthy_threshold, 4u);
  EXPECT_EQ(check.unhealthy_threshold, 1u);
  EXPECT_EQ(check.expected_statuses,
            (std::vector<std::pair<int, int>>{{204, 204}, {300, 399}, {418, 420}}));
  EXPECT_TRUE(check.expects(204));
  EXPECT_FALSE(check.expects(200));
  EXPECT_TRUE(check.expects(419));
  EXPECT_EQ(check.host, "health.internal");
}

TEST(HealthCheckConfigTest, EveryBadValueIsReportedAtItsPosition) {
  const LoadResult result = loadYaml(withUpstream(
      "    resolve_interval: 0s\n"
      "    health_check:\n"
      "      path: healthz\n"
      "      interval: soon\n"
      "      healthy_threshold: 0\n"
      "      expected_statuses: [200, 6xx, 300-200, {a: 1}]\n"
      "      hots: x\n"));
  EXPECT_FALSE(result.ok());
  const std::vector<std::string> errors = formatted(result);
  const std::vector<std::string> prefixes = {
      "test.yaml:5:23: upstreams.app.resolve_interval: ",
      "test.yaml:7:13: upstreams.app.health_check.path: expected an origin-form path",
      "test.yaml:8:17: upstreams.app.health_check.interval: ",
      "test.yaml:9:26: upstreams.app.health_check.healthy_threshold: expected a number from 1 "
      "to 1000",
      "test.yaml:10:32: upstreams.app.health_check.expected_statuses[1]: expected a status from "
      "100 to 599",
      "test.yaml:10:37: upstreams.app.health_check.expected_statuses[2]: expected a status",
      "test.yaml:10:46: upstreams.app.health_check.expected_statuses[3]: expected a status",
      "test.yaml:11:7: upstreams.app.health_check.hots: unknown key \"hots\" (did you mean \"host\"?)",
  };
  for (const std::string& prefix : prefixes) {
    bool found = false;
    for (const std::string& error : errors) {
      found = found || error.starts_with(prefix);
    }
    EXPECT_TRUE(found) << "no error starts with: " << prefix;
  }
  EXPECT_EQ(errors.size(), prefixes.size());
}

TEST(HealthCheckConfigTest, AnEmptyStatusListIsRefused) {
  const LoadResult result =
      loadYaml(withUpstream("    health_check:\n      expected_statuses: []\n"));
  EXPECT_FALSE(result.ok());
  ASSERT_EQ(formatted(result).size(), 1u);
  EXPECT_NE(formatted(result)[0].find("at least one status"), std::string::npos);
}

TEST(HealthCheckConfigTest, WorkersAutoIsAccepted) {
  const LoadResult result = loadYaml("workers: auto\n" + withUpstream(""));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.config->workers, 0u);
}

}  // namespace
}  // namespace edge::config
