#include "lib/cache/cache_control.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace edge::cache {
namespace {

TEST(CacheControl, EmptyValueSetsNothing) {
  const CacheControl cc = parseCacheControl("");
  EXPECT_FALSE(cc.no_store || cc.no_cache || cc.is_private || cc.is_public);
  EXPECT_FALSE(cc.max_age || cc.s_maxage || cc.min_fresh || cc.max_stale);
  EXPECT_FALSE(cc.max_stale_any);
}

struct FlagCase {
  const char* directive;
  bool CacheControl::*field;
};

TEST(CacheControl, EveryFlagDirectiveIsRecognisedInAnyCase) {
  const std::vector<FlagCase> cases = {
      {"no-store", &CacheControl::no_store},
      {"NO-CACHE", &CacheControl::no_cache},
      {"Private", &CacheControl::is_private},
      {"public", &CacheControl::is_public},
      {"Must-Revalidate", &CacheControl::must_revalidate},
      {"proxy-revalidate", &CacheControl::proxy_revalidate},
      {"no-transform", &CacheControl::no_transform},
      {"only-if-cached", &CacheControl::only_if_cached},
      {"IMMUTABLE", &CacheControl::immutable},
  };
  for (const FlagCase& c : cases) {
    SCOPED_TRACE(c.directive);
    EXPECT_TRUE(parseCacheControl(c.directive).*c.field);
    EXPECT_FALSE(parseCacheControl("max-age=1").*c.field);
  }
}

TEST(CacheControl, DeltaDirectivesAreReadInSecondsIgnoringCaseAndWhiteSpace) {
  const CacheControl cc = parseCacheControl(
      " Max-Age=60 ,S-MAXAGE=30,\tmin-fresh=5 , max-stale=7, stale-while-revalidate=11, "
      "stale-if-error=13 ");
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_EQ(cc.s_maxage, 30);
  EXPECT_EQ(cc.min_fresh, 5);
  EXPECT_EQ(cc.max_stale, 7);
  EXPECT_FALSE(cc.max_stale_any);
  EXPECT_EQ(cc.stale_while_revalidate, 11);
  EXPECT_EQ(cc.stale_if_error, 13);
}

TEST(CacheControl, QuotedValuesAreUnquotedAndMayHoldCommas) {
  const CacheControl cc = parseCacheControl(R"(no-cache="Set-Cookie, X-Foo", max-age="60")");
  EXPECT_TRUE(cc.no_cache);
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_FALSE(cc.no_store);
}

TEST(CacheControl, QuotedPairsInsideQuotedValuesDoNotEndThem) {
  const CacheControl cc = parseCacheControl(R"(private="a\"b, no-store", s-maxage=9)");
  EXPECT_TRUE(cc.is_private);
  EXPECT_FALSE(cc.no_store);
  EXPECT_EQ(cc.s_maxage, 9);
}

TEST(CacheControl, QualifiedNoCacheAndPrivateApplyToTheWholeResponse) {
  EXPECT_TRUE(parseCacheControl(R"(no-cache="Set-Cookie")").no_cache);
  EXPECT_TRUE(parseCacheControl("private=x-user").is_private);
}

TEST(CacheControl, InvalidMaxAgeMeansAlreadyStale) {
  for (const char* value : {"max-age=abc", "max-age", "max-age=", "max-age=-1", "max-age=1.5",
                            "max-age=5 6", "max-age=\"\""}) {
    SCOPED_TRACE(value);
    EXPECT_EQ(parseCacheControl(value).max_age, 0);
  }
}

TEST(CacheControl, InvalidOtherDeltasAreAbsent) {
  const CacheControl cc = parseCacheControl(
      "s-maxage=x, min-fresh=, stale-while-revalidate=1.5, stale-if-error=-3, max-stale=z");
  EXPECT_FALSE(cc.s_maxage);
  EXPECT_FALSE(cc.min_fresh);
  EXPECT_FALSE(cc.stale_while_revalidate);
  EXPECT_FALSE(cc.stale_if_error);
  EXPECT_FALSE(cc.max_stale);
  EXPECT_FALSE(cc.max_stale_any);
}

TEST(CacheControl, ConflictingFreshnessDuplicatesMeanStale) {
  EXPECT_EQ(parseCacheControl("max-age=60, max-age=120").max_age, 0);
  EXPECT_EQ(parseCacheControl("s-maxage=60, S-MAXAGE=120").s_maxage, 0);
  EXPECT_EQ(parseCacheControl("max-age=60, max-age=bogus").max_age, 0);
}

TEST(CacheControl, AgreeingDuplicatesAndOtherDuplicatesKeepTheFirst) {
  EXPECT_EQ(parseCacheControl("max-age=60, max-age=60").max_age, 60);
  EXPECT_EQ(parseCacheControl("stale-if-error=10, stale-if-error=20").stale_if_error, 10);
  EXPECT_EQ(parseCacheControl("s-maxage=5, s-maxage=junk").s_maxage, 5);
}

TEST(CacheControl, MaxStaleWithoutValueAcceptsAnyStaleness) {
  const CacheControl any = parseCacheControl("max-stale");
  EXPECT_TRUE(any.max_stale_any);
  EXPECT_FALSE(any.max_stale);
  const CacheControl bounded = parseCacheControl("max-stale=30");
  EXPECT_FALSE(bounded.max_stale_any);
  EXPECT_EQ(bounded.max_stale, 30);
}

TEST(CacheControl, HugeDeltaSecondsAreCappedAtTwoToTheThirtyFirst) {
  EXPECT_EQ(parseCacheControl("max-age=99999999999999999999999").max_age, 2147483648);
}

TEST(CacheControl, JunkAndUnknownDirectivesAreIgnored) {
  const CacheControl cc = parseCacheControl(",,  , =5, ;;, foo, bar=\"baz\", no-store");
  EXPECT_TRUE(cc.no_store);
  EXPECT_FALSE(cc.no_cache);
  EXPECT_FALSE(cc.max_age);
}

TEST(CacheControl, UnknownNamesThatMerelyStartLikeKnownOnesAreIgnored) {
  const CacheControl cc = parseCacheControl("no-store-please, max-ages=5, public2");
  EXPECT_FALSE(cc.no_store);
  EXPECT_FALSE(cc.max_age);
  EXPECT_FALSE(cc.is_public);
}

TEST(CacheControl, UnterminatedQuoteSwallowsTheRestOfTheField) {
  const CacheControl cc = parseCacheControl("max-age=5, no-cache=\"unterminated, no-store");
  EXPECT_EQ(cc.max_age, 5);
  EXPECT_TRUE(cc.no_cache);
  EXPECT_FALSE(cc.no_store);
}

TEST(CacheControl, JunkAfterAQuotedValueIsSkippedUpToTheNextComma) {
  const CacheControl cc = parseCacheControl("max-age=\"5\"junk, public");
  EXPECT_EQ(cc.max_age, 5);
  EXPECT_TRUE(cc.is_public);
}

}  // namespace
}  // namespace edge::cache
