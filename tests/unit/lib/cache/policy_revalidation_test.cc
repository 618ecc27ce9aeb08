// addValidators and refreshFromNotModified.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "lib/cache/policy.h"
#include "tests/unit/lib/cache/policy_test_support.h"

namespace edge::cache {
namespace {

TEST(AddValidators, ConditionalHeadersComeFromTheEntryAndReplaceTheClients) {
  CachedEntry entry;
  entry.etag = "\"v2\"";
  entry.last_modified = kTDate;
  http::Headers request = headersOf({{"If-None-Match", "\"mine\""}, {"if-none-match", "\"x\""},
                                     {"If-Modified-Since", "whenever"}, {"Accept", "*/*"}});
  addValidators(entry, request);
  EXPECT_EQ(request.count("if-none-match"), 1u);
  EXPECT_EQ(*request.find("if-none-match"), "\"v2\"");
  EXPECT_EQ(request.count("if-modified-since"), 1u);
  EXPECT_EQ(*request.find("if-modified-since"), kTDate);
  EXPECT_NE(request.find("accept"), nullptr);
}

TEST(AddValidators, TheClientsValidatorsGoEvenWhenTheEntryHasNone) {
  http::Headers request = headersOf({{"If-None-Match", "\"mine\""}, {"If-Modified-Since", "x"}});
  addValidators(CachedEntry{}, request);
  EXPECT_TRUE(request.empty());
}

class RefreshFromNotModified : public ::testing::Test {
 protected:
  RefreshFromNotModified() {
    stale_.key = "GET|example.com|/a";
    stale_.status = 200;
    stale_.reason = "OK";
    stale_.body = std::make_shared<const std::string>("hello");
    stale_.headers = headersOf({{"Content-Type", "text/plain"},
                                {"ETag", "\"v1\""},
                                {"Cache-Control", "max-age=60"},
                                {"Content-Length", "5"},
                                {"Content-Encoding", "gzip"},
                                {"X-Multi", "a"},
                                {"x-multi", "b"},
                                {"Date", kTDate}});
    stale_.vary_values = {{"accept-encoding", "gzip"}};
    stale_.tags = {"org:1"};
    fillFreshness(stale_, route_class_, kT, kT);
    stale_.invalidated.store(true);
  }

  config::RouteClass route_class_;
  CachedEntry stale_;
};

TEST_F(RefreshFromNotModified, KeepsTheBodyStatusKeyVariantAndTags) {
  const EntryPtr fresh = refreshFromNotModified(stale_, headersOf({}), route_class_,
                                                kT + kHour, kT + kHour);
  ASSERT_NE(fresh, nullptr);
  EXPECT_EQ(fresh->body, stale_.body);
  EXPECT_EQ(fresh->status, 200);
  EXPECT_EQ(fresh->reason, "OK");
  EXPECT_EQ(fresh->key, stale_.key);
  EXPECT_EQ(fresh->vary_values, stale_.vary_values);
  EXPECT_EQ(fresh->tags, stale_.tags);
  EXPECT_FALSE(fresh->invalidated.load());
  EXPECT_TRUE(stale_.invalidated.load());
}

TEST_F(RefreshFromNotModified, ReplacesEveryStoredLineOfEachHeaderThe304Carries) {
  const http::Headers not_modified =
      headersOf({{"ETag", "\"v2\""}, {"x-multi", "c"}, {"X-Multi", "d"}, {"X-New", "n"}});
  const EntryPtr fresh =
      refreshFromNotModified(stale_, not_modified, route_class_, kT + kHour, kT + kHour);
  EXPECT_EQ(fresh->headers.joined("x-multi"), "c, d");
  EXPECT_EQ(*fresh->headers.find("etag"), "\"v2\"");
  EXPECT_EQ(fresh->etag, "\"v2\"");
  EXPECT_EQ(*fresh->headers.find("x-new"), "n");
  EXPECT_EQ(*fresh->headers.find("content-type"), "text/plain");
  EXPECT_EQ(stale_.headers.joined("x-multi"), "a, b");
}

TEST_F(RefreshFromNotModified, KeepsTheStoredFramingAndEncoding) {
  const http::Headers not_modified =
      headersOf({{"Content-Length", "0"}, {"Content-Encoding", "br"},
                 {"Transfer-Encoding", "chunked"}, {"Connection", "close"}});
  const EntryPtr fresh =
      refreshFromNotModified(stale_, not_modified, route_class_, kT + kHour, kT + kHour);
  EXPECT_EQ(*fresh->headers.find("content-length"), "5");
  EXPECT_EQ(*fresh->headers.find("content-encoding"), "gzip");
  EXPECT_EQ(fresh->headers.find("transfer-encoding"), nullptr);
  EXPECT_EQ(fresh->headers.find("connection"), nullptr);
}

TEST_F(RefreshFromNotModified, RecomputesFreshnessFromTheNewTimesAndHeaders) {
  const int64_t sent = kT + kHour;
  const int64_t received = sent + 2 * kSecond;
  const http::Headers not_modified = headersOf(
      {{"Cache-Control", "max-age=120"}, {"Date", formatHttpDate(sent)}, {"Age", "10"}});
  const EntryPtr fresh = refreshFromNotModified(stale_, not_modified, route_class_, sent, received);
  EXPECT_EQ(fresh->freshness_lifetime_ms, 120 * kSecond);
  EXPECT_EQ(fresh->request_time_ms, sent);
  EXPECT_EQ(fresh->response_time_ms, received);
  EXPECT_EQ(fresh->corrected_initial_age_ms, 12 * kSecond);
  EXPECT_EQ(fresh->headers.find("age"), nullptr);
  EXPECT_EQ(evaluate(*fresh, {}, received + kSecond).verdict, Verdict::Fresh);
  EXPECT_EQ(evaluate(stale_, {}, received + kSecond).verdict, Verdict::MustRevalidate);
}

TEST_F(RefreshFromNotModified, A304WithoutDateIsDatedWhenItArrived) {
  const EntryPtr fresh = refreshFromNotModified(stale_, headersOf({}), route_class_, kT + kHour,
                                                kT + kHour);
  // The stored Date is an hour old; keeping it would make the refreshed entry stale at once.
  EXPECT_EQ(*fresh->headers.find("date"), formatHttpDate(kT + kHour));
  EXPECT_EQ(fresh->freshness_lifetime_ms, kMinute);
  EXPECT_EQ(fresh->corrected_initial_age_ms, 0);
  EXPECT_EQ(evaluate(*fresh, {}, kT + kHour + kSecond).verdict, Verdict::Fresh);
}

}  // namespace
}  // namespace edge::cache
