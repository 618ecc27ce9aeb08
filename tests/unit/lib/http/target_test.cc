#include "lib/http/target.h"

#include <gtest/gtest.h>

namespace edge::http {
namespace {

TEST(Target, PathNormalisationRemovesDotSegmentsAndDecodesUnreserved) {
  EXPECT_EQ(normalisePath("/a/./b/../c"), "/a/c");
  EXPECT_EQ(normalisePath("/%7euser/%2fx"), "/~user/%2Fx");
  EXPECT_EQ(normalisePath("/a/b/.."), "/a/");
  EXPECT_EQ(normalisePath("/"), "/");
  EXPECT_EQ(normalisePath(""), "/");
  EXPECT_EQ(normalisePath("/a//b/"), "/a//b/");
  EXPECT_EQ(normalisePath("/../../x"), "/x");
}

TEST(Target, EncodedDotSegmentsAreDecodedBeforeTheyAreRemoved) {
  EXPECT_EQ(normalisePath("/static/%2e%2e/api/v1/work-orders"), "/api/v1/work-orders");
  EXPECT_EQ(normalisePath("/static/%2E%2e/%2e/api"), "/api");
  EXPECT_EQ(normalisePath("/static/.%2e/api"), "/api");
  // An encoded slash is data, not a separator: "..%2F" is one ordinary segment.
  EXPECT_EQ(normalisePath("/static/..%2fapi"), "/static/..%2Fapi");
}

TEST(Target, AStrayPercentIsEncodedSoThatDecodingNeverCompletesAnEscape) {
  EXPECT_EQ(normalisePercent("/%7%41"), "/%257A");
  EXPECT_EQ(normalisePercent("100%"), "100%25");
  EXPECT_EQ(normalisePercent("%%41"), "%25A");
  EXPECT_EQ(normalisePath("/%2%65%2%65/x"), "/%252e%252e/x");
  EXPECT_TRUE(hasMalformedEscape("/%7%41"));
  EXPECT_TRUE(hasMalformedEscape("/a%"));
  EXPECT_TRUE(hasMalformedEscape("/a%4"));
  EXPECT_TRUE(hasMalformedEscape("/a%zz"));
  EXPECT_FALSE(hasMalformedEscape("/a%41%2f"));
  EXPECT_FALSE(hasMalformedEscape("/plain"));
}

TEST(Target, NormalisationIsIdempotent) {
  for (const char* path : {"/a/../b/%2e/c", "/%7e/%41%2f", "/./../", "/a/b/..", "//x/../y",
                           "/%7%41", "/%2%65%2%65/..", "/%", "/%%%"}) {
    const std::string once = normalisePath(path);
    EXPECT_EQ(normalisePath(once), once) << path;
  }
}

TEST(Target, OriginFormKeepsTheQueryAsItCame) {
  EXPECT_EQ(normaliseOriginForm("/a/../b?x=%2e%2e/../y&z"), "/b?x=%2e%2e/../y&z");
  EXPECT_EQ(normaliseOriginForm("/a/./?"), "/a/?");
  EXPECT_EQ(normaliseOriginForm("*"), "*");
}

}  // namespace
}  // namespace edge::http
