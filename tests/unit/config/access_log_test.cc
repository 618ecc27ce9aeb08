// The `access_log` section: absent means no log; every key read, every bad value reported.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "tests/unit/config/config_test_support.h"

namespace edge::config {
namespace {

using test_support::errorsOf;
using test_support::loaded;

using namespace std::chrono_literals;

TEST(AccessLogSectionTest, AbsentSectionMeansNoAccessLog) {
  const ConfigPtr config = loaded("");
  ASSERT_TRUE(config);
  EXPECT_FALSE(config->access_log.has_value());
}

TEST(AccessLogSectionTest, EmptySectionLogsJsonToStdout) {
  const ConfigPtr config = loaded("access_log: {}\n");
  ASSERT_TRUE(config && config->access_log);
  const AccessLogConfig& log = *config->access_log;
  EXPECT_TRUE(log.enabled);
  EXPECT_TRUE(log.toStdout());
  EXPECT_EQ(log.format, AccessLogConfig::Format::Json);
  EXPECT_EQ(log.sample, 1.0);
  EXPECT_EQ(log.flush_interval, 1000ms);
  EXPECT_EQ(log.buffer_size, 1u << 20);
}

TEST(AccessLogSectionTest, ReadsEveryKey) {
  const ConfigPtr config = loaded(
      "access_log:\n"
      "  enabled: false\n"
      "  path: /var/log/edge/access.log\n"
      "  format: combined\n"
      "  sample: 0.25\n"
      "  flush_interval: 250ms\n"
      "  buffer_size: 64k\n");
  ASSERT_TRUE(config && config->access_log);
  const AccessLogConfig& log = *config->access_log;
  EXPECT_FALSE(log.enabled);
  EXPECT_EQ(log.path, "/var/log/edge/access.log");
  EXPECT_FALSE(log.toStdout());
  EXPECT_EQ(log.format, AccessLogConfig::Format::Combined);
  EXPECT_EQ(log.sample, 0.25);
  EXPECT_EQ(log.flush_interval, 250ms);
  EXPECT_EQ(log.buffer_size, 64u << 10);
}

TEST(AccessLogSectionTest, StdoutHasTwoSpellings) {
  EXPECT_TRUE(loaded("access_log: { path: stdout }\n")->access_log->toStdout());
  EXPECT_TRUE(loaded("access_log: { path: \"-\" }\n")->access_log->toStdout());
}

TEST(AccessLogSectionTest, SampleAtTheEdges) {
  EXPECT_EQ(loaded("access_log: { sample: 0 }\n")->access_log->sample, 0.0);
  EXPECT_EQ(loaded("access_log: { sample: 1 }\n")->access_log->sample, 1.0);
}

TEST(AccessLogSectionTest, BadValuesAreReportedWithTheirPlace) {
  EXPECT_EQ(errorsOf("access_log:\n"
                     "  enabled: sometimes\n"
                     "  format: xml\n"
                     "  sample: 1.5\n"
                     "  flush_interval: 0s\n"
                     "  buffer_size: 1k\n"
                     "  pth: x\n"),
            (std::vector<std::string>{
                "test.yaml:6:12: access_log.enabled: expected true or false, got \"sometimes\"",
                "test.yaml:7:11: access_log.format: expected json or combined, got \"xml\"",
                "test.yaml:8:11: access_log.sample: expected a fraction from 0 to 1, like 0.1, "
                "got \"1.5\"",
                "test.yaml:9:19: access_log.flush_interval: expected a duration greater than 0, "
                "got \"0s\"",
                "test.yaml:10:16: access_log.buffer_size: expected a size from 4k to 1g, got "
                "\"1k\"",
                "test.yaml:11:3: access_log.pth: unknown key \"pth\" (did you mean \"path\"?)"}));
}

TEST(AccessLogSectionTest, SampleMustBeANumber) {
  const auto errors = errorsOf("access_log: { sample: half }\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("access_log.sample: expected a fraction from 0 to 1"),
            std::string::npos);
}

}  // namespace
}  // namespace edge::config
