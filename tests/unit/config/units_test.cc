#include "config/units.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace edge::config {
namespace {

using namespace std::chrono_literals;

struct DurationCase {
  std::string text;
  std::optional<Millis> expected;
};

TEST(ParseDurationTest, AcceptsEveryUnitAndRejectsEverythingElse) {
  const std::vector<DurationCase> cases = {
      {"250ms", 250ms},
      {"2s", 2s},
      {"5m", 5min},
      {"1h", 1h},
      {"1d", 24h},
      {"365d", 365 * 24h},
      {"30", 30s},
      {"0", 0ms},
      {"0ms", 0ms},
      {"", std::nullopt},
      {"fast", std::nullopt},
      {"s", std::nullopt},
      {"-1s", std::nullopt},
      {"+1s", std::nullopt},
      {"1.5s", std::nullopt},
      {"10 s", std::nullopt},
      {" 10s", std::nullopt},
      {"10s ", std::nullopt},
      {"10sx", std::nullopt},
      {"5M", std::nullopt},
      {"1w", std::nullopt},
      {"99999999999999999999s", std::nullopt},
      {"9223372036854775807s", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parseDuration(c.text), c.expected) << "input: \"" << c.text << "\"";
  }
}

TEST(ParseDurationTest, AcceptsTheLargestValueThatFitsInMilliseconds) {
  EXPECT_EQ(parseDuration("9223372036854775807ms"), Millis(INT64_MAX));
  EXPECT_EQ(parseDuration("9223372036854775808ms"), std::nullopt);
}

struct SizeCase {
  std::string text;
  std::optional<uint64_t> expected;
};

TEST(ParseByteSizeTest, AcceptsSuffixesInAnyCaseAndRejectsGarbage) {
  const std::vector<SizeCase> cases = {
      {"512", 512},
      {"0", 0},
      {"64k", 64 * 1024},
      {"64K", 64 * 1024},
      {"64kb", 64 * 1024},
      {"64KB", 64 * 1024},
      {"16m", 16ull << 20},
      {"16MB", 16ull << 20},
      {"1g", 1ull << 30},
      {"2Gb", 2ull << 30},
      {"", std::nullopt},
      {"k", std::nullopt},
      {"big", std::nullopt},
      {"-1", std::nullopt},
      {"1.5m", std::nullopt},
      {"12 k", std::nullopt},
      {"1t", std::nullopt},
      {"1kbb", std::nullopt},
      {"18446744073709551615", UINT64_MAX},
      {"18446744073709551616", std::nullopt},
      {"17179869184g", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parseByteSize(c.text), c.expected) << "input: \"" << c.text << "\"";
  }
}

struct HostPortCase {
  std::string text;
  std::optional<HostPort> expected;
};

TEST(ParseHostPortTest, AcceptsNamesAndAddressesAndRejectsMalformedInput) {
  const std::vector<HostPortCase> cases = {
      {"127.0.0.1:8080", HostPort{"127.0.0.1", 8080}},
      {"[::1]:8080", HostPort{"::1", 8080}},
      {"[::]:443", HostPort{"::", 443}},
      {"localhost:80", HostPort{"localhost", 80}},
      {"api.internal-1.example.com:3000", HostPort{"api.internal-1.example.com", 3000}},
      {":8080", HostPort{"0.0.0.0", 8080}},
      {"127.0.0.1:0", HostPort{"127.0.0.1", 0}},
      {"127.0.0.1:65535", HostPort{"127.0.0.1", 65535}},
      {"127.0.0.1:65536", std::nullopt},
      {"127.0.0.1:99999999", std::nullopt},
      {"127.0.0.1", std::nullopt},
      {"127.0.0.1:", std::nullopt},
      {"127.0.0.1:-1", std::nullopt},
      {"127.0.0.1:80x", std::nullopt},
      {"127.0.0.1:+80", std::nullopt},
      {"::1:8080", std::nullopt},
      {"[::1]", std::nullopt},
      {"[::1]8080", std::nullopt},
      {"[nonsense]:80", std::nullopt},
      {"[127.0.0.1]:80", std::nullopt},
      {"999.1.1.1:80", std::nullopt},
      {"exa mple:80", std::nullopt},
      {"a..b:80", std::nullopt},
      {"", std::nullopt},
      {":", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parseHostPort(c.text), c.expected) << "input: \"" << c.text << "\"";
  }
}

TEST(HostPortTest, FormatsIpv6WithBracketsAndEverythingElseWithout) {
  EXPECT_EQ((HostPort{"127.0.0.1", 80}).str(), "127.0.0.1:80");
  EXPECT_EQ((HostPort{"::1", 80}).str(), "[::1]:80");
  EXPECT_EQ((HostPort{"localhost", 0}).str(), "localhost:0");
}

TEST(EditDistanceTest, CountsInsertionsDeletionsAndSubstitutions) {
  EXPECT_EQ(editDistance("", ""), 0u);
  EXPECT_EQ(editDistance("abc", ""), 3u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
  EXPECT_EQ(editDistance("upstream", "upstreams"), 1u);
  EXPECT_EQ(editDistance("upstreams", "upstream"), 1u);
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(editDistance("ttl", "tll"), 1u);
  EXPECT_EQ(editDistance("same", "same"), 0u);
}

}  // namespace
}  // namespace edge::config
