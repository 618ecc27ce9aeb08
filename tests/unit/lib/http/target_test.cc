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


TEST(ResolveTarget, OriginFormKeepsTheHostHeaderAndNormalisesThePath) {
  ResolvedTarget r = resolveTarget("/static/%2e%2e/api/x?b=%2e", "example.com");
  EXPECT_EQ(r.error, nullptr);
  EXPECT_EQ(r.host, "example.com");
  EXPECT_EQ(r.target, "/api/x?b=%2e");
}

TEST(ResolveTarget, AbsoluteFormTakesItsAuthorityOverTheHostHeader) {
  ResolvedTarget r = resolveTarget("http://api.test:8080/a/./b?q=1", "other.test");
  EXPECT_EQ(r.error, nullptr);
  EXPECT_EQ(r.host, "api.test:8080");
  EXPECT_EQ(r.target, "/a/b?q=1");
  EXPECT_EQ(resolveTarget("https://h.test", "").target, "/");
  ResolvedTarget query_only = resolveTarget("http://h.test?x=/y", "");
  EXPECT_EQ(query_only.host, "h.test");
  EXPECT_EQ(query_only.target, "/?x=/y");
}

TEST(ResolveTarget, AsteriskFormStaysAsItIs) {
  ResolvedTarget r = resolveTarget("*", "h");
  EXPECT_EQ(r.error, nullptr);
  EXPECT_EQ(r.target, "*");
}

TEST(ResolveTarget, RefusesWhatIsNeitherAPathNorAnAbsoluteUri) {
  for (std::string_view target : {"foo", "", "ftp://h/x", "h.test/x"}) {
    ResolvedTarget r = resolveTarget(target, "h");
    ASSERT_NE(r.error, nullptr) << target;
    EXPECT_NE(std::string_view(r.error).find("origin-form"), std::string_view::npos);
  }
}

TEST(ResolveTarget, RefusesAMalformedEscapeInThePathButNotInTheQuery) {
  ResolvedTarget bad = resolveTarget("/a%zz", "h");
  ASSERT_NE(bad.error, nullptr);
  EXPECT_NE(std::string_view(bad.error).find("percent-encoding"), std::string_view::npos);
  EXPECT_NE(resolveTarget("http://h/%4", "").error, nullptr);
  EXPECT_EQ(resolveTarget("/a?q=%zz", "h").error, nullptr);
}

}  // namespace
}  // namespace edge::http
