#include "lib/http/request_id.h"

#include <gtest/gtest.h>

#include <set>

#include "lib/http/per_request_headers.h"

namespace edge::http {
namespace {

TEST(ValidRequestId, VisibleAsciiFromOneTo200Bytes) {
  EXPECT_TRUE(validRequestId("a"));
  EXPECT_TRUE(validRequestId("3f2a-9b1c_x.y:z/+=!~"));
  EXPECT_TRUE(validRequestId(std::string(200, 'x')));
  EXPECT_FALSE(validRequestId(""));
  EXPECT_FALSE(validRequestId(std::string(201, 'x')));
  EXPECT_FALSE(validRequestId("has space"));
  EXPECT_FALSE(validRequestId("tab\there"));
  EXPECT_FALSE(validRequestId("quote\"ok?\x7f"));
  EXPECT_FALSE(validRequestId("caf\xC3\xA9"));
  EXPECT_FALSE(validRequestId(std::string("a\0b", 3)));
}

TEST(RequestIdGenerator, Makes32HexDigitsThatDoNotRepeat) {
  RequestIdGenerator generator;
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = generator.next();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ASSERT_TRUE(validRequestId(id));
    ASSERT_TRUE(seen.insert(id).second) << "repeated " << id;
  }
}

TEST(RequestIdGenerator, TwoGeneratorsStartApart) {
  RequestIdGenerator a;
  RequestIdGenerator b;
  EXPECT_NE(a.next(), b.next()) << "each is seeded from getrandom";
}

TEST(PerRequestHeaders, RemovedFromResponsesOthersKept) {
  Headers h;
  h.add("Content-Type", "application/json");
  h.add("X-Request-Id", "origin-id");
  h.add("x-correlation-id", "c");
  h.add("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  h.add("TraceState", "rojo=00f067aa0ba902b7");
  h.add("X-Request-Id", "second");
  h.add("X-Request-Ids", "not the same header");
  stripPerRequestHeaders(h);
  EXPECT_EQ(h.find("x-request-id"), nullptr);
  EXPECT_EQ(h.find("x-correlation-id"), nullptr);
  EXPECT_EQ(h.find("traceparent"), nullptr);
  EXPECT_EQ(h.find("tracestate"), nullptr);
  ASSERT_NE(h.find("content-type"), nullptr);
  ASSERT_NE(h.find("x-request-ids"), nullptr);
}

}  // namespace
}  // namespace edge::http
