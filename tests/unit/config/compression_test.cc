// The `compression` section.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "tests/unit/config/config_test_support.h"

namespace edge::config {
namespace {

using test_support::errorsOf;
using test_support::formatted;
using test_support::kExamplePath;
using test_support::load;

void expectDefaults(const CompressionConfig& compression) {
  EXPECT_TRUE(compression.enabled);
  EXPECT_EQ(compression.min_size, 1000u);
  EXPECT_EQ(compression.types,
            (std::vector<std::string>{"application/json", "application/*+json", "text/*",
                                      "application/javascript", "text/javascript",
                                      "image/svg+xml", "application/xml", "application/*+xml"}));
  EXPECT_EQ(compression.gzip_level, 6);
  EXPECT_EQ(compression.brotli_quality, 11);
  EXPECT_EQ(compression.stream_gzip_level, 5);
  EXPECT_EQ(compression.stream_brotli_quality, 4);
  EXPECT_EQ(compression.stream_brotli_window, 18);
}

TEST(CompressionSectionTest, OmittedSectionKeepsTheDefaults) {
  const LoadResult result = load("");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  expectDefaults(result.config->compression);
}

TEST(CompressionSectionTest, EmptyMapKeepsTheDefaults) {
  const LoadResult result = load("compression: {}\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  expectDefaults(result.config->compression);
}

TEST(CompressionSectionTest, ReadsEveryKey) {
  const LoadResult result = load(
      "compression:\n"
      "  enabled: no\n"
      "  min_size: 2k\n"
      "  types: [Application/JSON, \"text/*\", \"*/*\", application/vnd.api+json]\n"
      "  gzip_level: 9\n"
      "  brotli_quality: 11\n"
      "  stream_gzip_level: 1\n"
      "  stream_brotli_quality: 0\n"
      "  stream_brotli_window: 24\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  const CompressionConfig& compression = result.config->compression;
  EXPECT_FALSE(compression.enabled);
  EXPECT_EQ(compression.min_size, 2048u);
  EXPECT_EQ(compression.types, (std::vector<std::string>{"application/json", "text/*", "*/*",
                                                         "application/vnd.api+json"}));
  EXPECT_EQ(compression.gzip_level, 9);
  EXPECT_EQ(compression.brotli_quality, 11);
  EXPECT_EQ(compression.stream_gzip_level, 1);
  EXPECT_EQ(compression.stream_brotli_quality, 0);
  EXPECT_EQ(compression.stream_brotli_window, 24);
}

TEST(CompressionSectionTest, PartialSectionKeepsTheOtherDefaults) {
  const LoadResult result = load("compression: { min_size: 0, stream_brotli_window: 10 }\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  const CompressionConfig& compression = result.config->compression;
  EXPECT_EQ(compression.min_size, 0u);
  EXPECT_EQ(compression.stream_brotli_window, 10);
  EXPECT_TRUE(compression.enabled);
  EXPECT_EQ(compression.types, CompressionConfig{}.types);
  EXPECT_EQ(compression.gzip_level, 6);
}

TEST(CompressionErrorTest, LevelsOutsideTheirRangeNameTheRange) {
  EXPECT_EQ(errorsOf("compression:\n"
                     "  gzip_level: 0\n"
                     "  brotli_quality: 12\n"
                     "  stream_gzip_level: 10\n"
                     "  stream_brotli_quality: -1\n"
                     "  stream_brotli_window: 9\n"),
            (std::vector<std::string>{
                "test.yaml:6:15: compression.gzip_level: expected a number from 1 to 9, "
                "got \"0\"",
                "test.yaml:7:19: compression.brotli_quality: expected a number from 0 to 11, "
                "got \"12\"",
                "test.yaml:8:22: compression.stream_gzip_level: expected a number from 1 to 9, "
                "got \"10\"",
                "test.yaml:9:26: compression.stream_brotli_quality: expected a number from 0 "
                "to 11, got \"-1\"",
                "test.yaml:10:25: compression.stream_brotli_window: expected a number from 10 "
                "to 24, got \"9\""}));
  EXPECT_EQ(errorsOf("compression: { stream_brotli_window: 25, gzip_level: fast }\n"),
            (std::vector<std::string>{
                "test.yaml:5:38: compression.stream_brotli_window: expected a number from 10 "
                "to 24, got \"25\"",
                "test.yaml:5:54: compression.gzip_level: expected a number from 1 to 9, "
                "got \"fast\""}));
}

TEST(CompressionErrorTest, BadFlagAndSize) {
  EXPECT_EQ(errorsOf("compression:\n"
                     "  enabled: maybe\n"
                     "  min_size: -1\n"
                     "  min_size: 2k\n"),
            (std::vector<std::string>{
                "test.yaml:6:12: compression.enabled: expected true or false, got \"maybe\"",
                "test.yaml:7:13: compression.min_size: expected a size like 512, 64k or 16m, "
                "got \"-1\"",
                "test.yaml:8:3: compression.min_size: duplicate key \"min_size\" (first given "
                "on line 7)"}));
}

TEST(CompressionErrorTest, BadMediaTypesAreNamed) {
  const std::string what = "expected a media type like application/json or text/*, without "
                           "parameters, got ";
  EXPECT_EQ(errorsOf("compression:\n"
                     "  types:\n"
                     "    - json\n"
                     "    - \"text/html; charset=utf-8\"\n"
                     "    - /json\n"
                     "    - \"text/\"\n"
                     "    - \"\"\n"
                     "    - [text/plain]\n"
                     "    - text/plain\n"),
            (std::vector<std::string>{
                "test.yaml:7:7: compression.types[0]: " + what + "\"json\"",
                "test.yaml:8:7: compression.types[1]: " + what + "\"text/html; charset=utf-8\"",
                "test.yaml:9:7: compression.types[2]: " + what + "\"/json\"",
                "test.yaml:10:7: compression.types[3]: " + what + "\"text/\"",
                "test.yaml:11:7: compression.types[4]: " + what + "\"\"",
                "test.yaml:12:7: compression.types[5]: " + what + "a list"}));
}

TEST(CompressionErrorTest, TypesMustBeANonEmptyList) {
  EXPECT_EQ(errorsOf("compression: { types: [] }\n"),
            (std::vector<std::string>{
                "test.yaml:5:23: compression.types: expected at least one media type "
                "(enabled: false turns compression off), got a list"}));
  EXPECT_EQ(errorsOf("compression: { types: text/plain }\n"),
            (std::vector<std::string>{
                "test.yaml:5:23: compression.types: expected a list of media types like "
                "[text/*], got \"text/plain\""}));
  EXPECT_EQ(errorsOf("compression:\n"
                     "  types:\n"),
            (std::vector<std::string>{
                "test.yaml:6:3: compression.types: expected a list of media types like "
                "[text/*], got nothing"}));
}

TEST(CompressionErrorTest, UnknownKeysSuggestTheClosest) {
  EXPECT_EQ(errorsOf("compression:\n"
                     "  gzip_levl: 5\n"
                     "  stream_brotli_windw: 20\n"
                     "  zstd: true\n"),
            (std::vector<std::string>{
                "test.yaml:6:3: compression.gzip_levl: unknown key \"gzip_levl\" (did you mean "
                "\"gzip_level\"?)",
                "test.yaml:7:3: compression.stream_brotli_windw: unknown key "
                "\"stream_brotli_windw\" (did you mean \"stream_brotli_window\"?)",
                "test.yaml:8:3: compression.zstd: unknown key \"zstd\""}));
  EXPECT_EQ(errorsOf("compresion: {}\n"),
            (std::vector<std::string>{
                "test.yaml:5:1: compresion: unknown key \"compresion\" (did you mean "
                "\"compression\"?)"}));
}

TEST(CompressionErrorTest, SectionMustBeAMap) {
  EXPECT_EQ(errorsOf("compression: true\n"),
            (std::vector<std::string>{
                "test.yaml:5:14: compression: expected a map, got \"true\""}));
}

TEST(CompressionExampleTest, ExampleConfigDocumentsTheDefaults) {
  const LoadResult result = loadConfigFile(kExamplePath);
  ASSERT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors[0].format());
  expectDefaults(result.config->compression);
}

}  // namespace
}  // namespace edge::config
