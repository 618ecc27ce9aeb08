// The `batch` section: where batch requests are taken and their limits.
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

// The batch section of a config that must load.
BatchConfig batchOf(const std::string& extra) {
  const ConfigPtr config = loaded(extra);
  return config ? config->batch : BatchConfig{};
}

void expectDefaults(const BatchConfig& batch) {
  EXPECT_TRUE(batch.enabled);
  EXPECT_EQ(batch.path, "/api/v1/batch");
  EXPECT_EQ(batch.max_items, 20u);
  EXPECT_EQ(batch.max_request_size, 1u << 20);
  EXPECT_EQ(batch.max_response_size, 8u << 20);
  EXPECT_EQ(batch.item_timeout, 10s);
  EXPECT_EQ(batch.concurrency, 10u);
  EXPECT_EQ(batch.inherit_headers,
            (std::vector<std::string>{"authorization", "cookie", "accept-language", "x-org-id"}));
}

TEST(BatchSectionTest, OmittedSectionKeepsTheDefaults) {
  expectDefaults(batchOf(""));
}

TEST(BatchSectionTest, EmptySectionKeepsTheDefaults) {
  expectDefaults(batchOf("batch: {}\n"));
}

TEST(BatchSectionTest, ReadsEveryKey) {
  const BatchConfig batch = batchOf(
      "batch:\n"
      "  enabled: false\n"
      "  path: /bulk\n"
      "  max_items: 50\n"
      "  max_request_size: 256k\n"
      "  max_response_size: 32m\n"
      "  item_timeout: 2500ms\n"
      "  concurrency: 3\n"
      "  inherit_headers: [Authorization, X-Tenant]\n");
  EXPECT_FALSE(batch.enabled);
  EXPECT_EQ(batch.path, "/bulk");
  EXPECT_EQ(batch.max_items, 50u);
  EXPECT_EQ(batch.max_request_size, 256u << 10);
  EXPECT_EQ(batch.max_response_size, 32u << 20);
  EXPECT_EQ(batch.item_timeout, 2500ms);
  EXPECT_EQ(batch.concurrency, 3u);
  // Lower-cased: item header names are compared with them in lower case.
  EXPECT_EQ(batch.inherit_headers, (std::vector<std::string>{"authorization", "x-tenant"}));
}

TEST(BatchSectionTest, PartialSectionKeepsTheOtherDefaults) {
  const BatchConfig batch = batchOf("batch: { max_items: 5 }\n");
  EXPECT_EQ(batch.max_items, 5u);
  EXPECT_EQ(batch.path, "/api/v1/batch");
  EXPECT_EQ(batch.concurrency, 10u);
  EXPECT_EQ(batch.inherit_headers.size(), 4u);
}

TEST(BatchSectionTest, AnEmptyInheritListInheritsNothing) {
  EXPECT_TRUE(batchOf("batch: { inherit_headers: [] }\n").inherit_headers.empty());
}

TEST(BatchSectionTest, LimitsAtTheEdgesOfTheirRanges) {
  const BatchConfig low = batchOf("batch: { max_items: 1, concurrency: 1, item_timeout: 1ms }\n");
  EXPECT_EQ(low.max_items, 1u);
  EXPECT_EQ(low.concurrency, 1u);
  EXPECT_EQ(low.item_timeout, 1ms);
  const BatchConfig high = batchOf("batch: { max_items: 1000, concurrency: 1000, "
                                   "max_request_size: 1g, max_response_size: 1g }\n");
  EXPECT_EQ(high.max_items, 1000u);
  EXPECT_EQ(high.concurrency, 1000u);
  EXPECT_EQ(high.max_request_size, 1u << 30);
  EXPECT_EQ(high.max_response_size, 1u << 30);
}

TEST(BatchSectionTest, BadValuesAreEachReportedWhereTheyAre) {
  EXPECT_EQ(errorsOf("batch:\n"
                     "  enabled: maybe\n"
                     "  path: api/batch\n"
                     "  max_items: 0\n"
                     "  max_request_size: 1\n"
                     "  max_response_size: 2g\n"
                     "  item_timeout: 0s\n"
                     "  concurrency: 1001\n"
                     "  inherit_headers: [x-org-id, \"bad name\"]\n"
                     "  max_item: 3\n"),
            (std::vector<std::string>{
                "test.yaml:6:12: batch.enabled: expected true or false, got \"maybe\"",
                "test.yaml:7:9: batch.path: expected a path like /api/v1/batch (no query, no "
                "spaces), got \"api/batch\"",
                "test.yaml:8:14: batch.max_items: expected a number from 1 to 1000, got \"0\"",
                "test.yaml:9:21: batch.max_request_size: expected a size from 2 to 1g, got \"1\"",
                "test.yaml:10:22: batch.max_response_size: expected a size from 1 to 1g, "
                "got \"2g\"",
                "test.yaml:11:17: batch.item_timeout: expected a duration greater than 0, "
                "got \"0s\"",
                "test.yaml:12:16: batch.concurrency: expected a number from 1 to 1000, "
                "got \"1001\"",
                "test.yaml:13:31: batch.inherit_headers[1]: expected a header name like "
                "accept-language, got \"bad name\"",
                "test.yaml:14:3: batch.max_item: unknown key \"max_item\" (did you mean "
                "\"max_items\"?)"}));
}

TEST(BatchSectionTest, PathsWithQueriesOrSpacesAreRejected) {
  for (const char* path : {"\"/batch?x=1\"", "\"/batch#x\"", "\"/my batch\"", "\"\""}) {
    SCOPED_TRACE(path);
    const auto errors = errorsOf(std::string("batch:\n  path: ") + path + "\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_TRUE(errors[0].starts_with("test.yaml:6:9: batch.path: expected a ")) << errors[0];
  }
}

TEST(BatchSectionTest, WrongNodeKindsSayWhatWasFound) {
  EXPECT_EQ(errorsOf("batch: [1]\n"),
            (std::vector<std::string>{"test.yaml:5:8: batch: expected a map, got a list"}));
  EXPECT_EQ(errorsOf("batch: { inherit_headers: authorization }\n"),
            (std::vector<std::string>{"test.yaml:5:27: batch.inherit_headers: expected a list of "
                                      "header names, got \"authorization\""}));
  EXPECT_EQ(errorsOf("batch: { max_items: lots }\n"),
            (std::vector<std::string>{
                "test.yaml:5:21: batch.max_items: expected a number from 1 to 1000, "
                "got \"lots\""}));
}

}  // namespace
}  // namespace edge::config
