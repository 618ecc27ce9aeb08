// fillFreshness: lifetime precedence, stale windows, validators and RFC 9111 4.2.3 age.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/cache/policy.h"
#include "tests/unit/lib/cache/policy_test_support.h"

namespace edge::cache {
namespace {

// CachedEntry holds an atomic and cannot be returned by value.
std::unique_ptr<CachedEntry> filled(http::Headers headers,
                                    const config::RouteClass& route_class = {},
                                    int64_t request_time_ms = kT, int64_t response_time_ms = kT) {
  auto entry = std::make_unique<CachedEntry>();
  entry->headers = std::move(headers);
  fillFreshness(*entry, route_class, request_time_ms, response_time_ms);
  return entry;
}

config::RouteClass classWith(int64_t ttl_ms, bool override_origin = false,
                             bool heuristic = false) {
  config::RouteClass route_class;
  route_class.ttl = config::Millis{ttl_ms};
  route_class.override_origin = override_origin;
  route_class.heuristic_freshness = heuristic;
  return route_class;
}

struct LifetimeCase {
  const char* name;
  http::Headers headers;
  config::RouteClass route_class;
  int64_t lifetime_ms;
};

TEST(FillFreshness, LifetimeComesFromSMaxAgeThenMaxAgeThenExpiresThenHeuristicThenClass) {
  const std::string in30s = formatHttpDate(kT + 30 * kSecond);
  const std::string hour_ago = formatHttpDate(kT - kHour);
  const std::string month_ago = formatHttpDate(kT - 30 * kDay);
  const std::vector<LifetimeCase> cases = {
      {"s-maxage", headersOf({{"Cache-Control", "max-age=20, s-maxage=10"}, {"Expires", in30s}}),
       {}, 10 * kSecond},
      {"max-age", headersOf({{"Cache-Control", "max-age=20"}, {"Expires", in30s}}), {},
       20 * kSecond},
      {"expires", headersOf({{"Date", kTDate}, {"Expires", in30s}}), {}, 30 * kSecond},
      {"expires in the past", headersOf({{"Date", kTDate}, {"Expires", hour_ago}}), {}, 0},
      {"invalid expires", headersOf({{"Expires", "0"}}), classWith(kMinute), 0},
      {"heuristic", headersOf({{"Date", kTDate}, {"Last-Modified", hour_ago}}),
       classWith(kMinute, false, true), 6 * kMinute},
      {"heuristic is capped at a day",
       headersOf({{"Date", kTDate}, {"Last-Modified", month_ago}}), classWith(0, false, true),
       kDay},
      {"heuristic not allowed", headersOf({{"Date", kTDate}, {"Last-Modified", hour_ago}}),
       classWith(kMinute), kMinute},
      {"heuristic loses to max-age",
       headersOf({{"Cache-Control", "max-age=5"}, {"Last-Modified", hour_ago}}),
       classWith(0, false, true), 5 * kSecond},
      {"last-modified after date", headersOf({{"Date", hour_ago}, {"Last-Modified", kTDate}}),
       classWith(kMinute, false, true), kMinute},
      {"class ttl", headersOf({}), classWith(kMinute), kMinute},
      {"nothing", headersOf({}), {}, 0},
      {"override wins over the origin", headersOf({{"Cache-Control", "s-maxage=600"}}),
       classWith(5 * kSecond, true), 5 * kSecond},
      {"override without a ttl keeps the origin", headersOf({{"Cache-Control", "max-age=600"}}),
       classWith(0, true), 600 * kSecond},
  };
  for (const LifetimeCase& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(filled(c.headers, c.route_class)->freshness_lifetime_ms, c.lifetime_ms);
  }
}

TEST(FillFreshness, ExpiresWithoutDateCountsFromTheResponseTime) {
  const auto entry =
      filled(headersOf({{"Expires", formatHttpDate(kT + kMinute)}}), {}, kT + 10 * kSecond,
             kT + 20 * kSecond);
  EXPECT_EQ(entry->freshness_lifetime_ms, 40 * kSecond);
}

TEST(FillFreshness, StaleWindowsComeFromTheResponseElseTheClass) {
  config::RouteClass route_class;
  route_class.stale_while_revalidate = config::Millis{7'000};
  route_class.stale_if_error = config::Millis{9'000};
  const auto from_class = filled(headersOf({{"Cache-Control", "max-age=5"}}), route_class);
  EXPECT_EQ(from_class->stale_while_revalidate_ms, 7 * kSecond);
  EXPECT_EQ(from_class->stale_if_error_ms, 9 * kSecond);
  EXPECT_FALSE(from_class->must_revalidate);
  const auto from_origin = filled(
      headersOf({{"Cache-Control", "max-age=5, stale-while-revalidate=1, stale-if-error=2"}}),
      route_class);
  EXPECT_EQ(from_origin->stale_while_revalidate_ms, 1 * kSecond);
  EXPECT_EQ(from_origin->stale_if_error_ms, 2 * kSecond);
}

TEST(FillFreshness, MustRevalidateProxyRevalidateAndSMaxAgeForbidStaleUse) {
  config::RouteClass route_class;
  route_class.stale_while_revalidate = config::Millis{7'000};
  for (const char* cc : {"max-age=5, must-revalidate, stale-if-error=60",
                         "max-age=5, proxy-revalidate", "s-maxage=5, stale-while-revalidate=9"}) {
    SCOPED_TRACE(cc);
    const auto entry = filled(headersOf({{"Cache-Control", cc}}), route_class);
    EXPECT_TRUE(entry->must_revalidate);
    EXPECT_EQ(entry->stale_while_revalidate_ms, 0);
    EXPECT_EQ(entry->stale_if_error_ms, 0);
  }
}

TEST(FillFreshness, ResponseNoCacheIsRemembered) {
  EXPECT_TRUE(filled(headersOf({{"Cache-Control", "no-cache=\"Set-Cookie\""}}))->no_cache);
  EXPECT_FALSE(filled(headersOf({{"Cache-Control", "max-age=1"}}))->no_cache);
}

TEST(FillFreshness, ValidatorsAndTimesAreRecordedAndAgeIsConsumed) {
  const auto entry =
      filled(headersOf({{"ETag", "\"v1\""}, {"Last-Modified", kTDate}, {"Age", "3"}}), {},
             kT - kSecond, kT);
  EXPECT_EQ(entry->etag, "\"v1\"");
  EXPECT_EQ(entry->last_modified, kTDate);
  EXPECT_EQ(entry->request_time_ms, kT - kSecond);
  EXPECT_EQ(entry->response_time_ms, kT);
  EXPECT_EQ(entry->headers.find("age"), nullptr);
  EXPECT_EQ(entry->headers.size(), 2u);
}

struct AgeCase {
  const char* name;
  http::Headers headers;
  int64_t request_time_ms;
  int64_t response_time_ms;
  int64_t corrected_initial_age_ms;
};

TEST(FillFreshness, CorrectedInitialAgeFollowsRfc9111) {
  const std::string five_s_ago = formatHttpDate(kT - 5 * kSecond);
  const std::string in_an_hour = formatHttpDate(kT + kHour);
  const std::vector<AgeCase> cases = {
      {"no date, no age", headersOf({}), kT, kT, 0},
      {"date behind: apparent age", headersOf({{"Date", five_s_ago}}), kT, kT, 5 * kSecond},
      {"age header", headersOf({{"Date", kTDate}, {"Age", "100"}}), kT, kT, 100 * kSecond},
      {"age plus response delay", headersOf({{"Date", kTDate}, {"Age", "10"}}), kT - 2 * kSecond,
       kT, 12 * kSecond},
      {"apparent age beats a small age", headersOf({{"Date", five_s_ago}, {"Age", "1"}}), kT, kT,
       5 * kSecond},
      {"origin clock ahead: only the delay", headersOf({{"Date", in_an_hour}}),
       kT - 3 * kSecond, kT, 3 * kSecond},
      {"invalid date is the response time", headersOf({{"Date", "yesterday"}}), kT, kT, 0},
      {"invalid age is zero", headersOf({{"Age", "-4"}}), kT, kT, 0},
      {"response before request is no delay", headersOf({}), kT + kSecond, kT, 0},
  };
  for (const AgeCase& c : cases) {
    SCOPED_TRACE(c.name);
    const auto entry = filled(c.headers, {}, c.request_time_ms, c.response_time_ms);
    EXPECT_EQ(entry->corrected_initial_age_ms, c.corrected_initial_age_ms);
  }
}

}  // namespace
}  // namespace edge::cache
