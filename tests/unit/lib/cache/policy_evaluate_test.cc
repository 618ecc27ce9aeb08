// evaluate: what a stored entry is good for at a given moment and for a given request.
#include <gtest/gtest.h>

#include "lib/cache/policy.h"
#include "tests/unit/lib/cache/policy_test_support.h"

namespace edge::cache {
namespace {

// Received at kT with no initial age: fresh for a minute, then 30 s of stale-while-revalidate
// and 120 s of stale-if-error.
class Evaluate : public ::testing::Test {
 protected:
  Evaluate() {
    entry_.response_time_ms = kT;
    entry_.request_time_ms = kT;
    entry_.freshness_lifetime_ms = kMinute;
    entry_.stale_while_revalidate_ms = 30 * kSecond;
    entry_.stale_if_error_ms = 120 * kSecond;
  }

  Evaluation at(int64_t now_ms, const char* request_cache_control = "") const {
    return evaluate(entry_, parseCacheControl(request_cache_control), now_ms);
  }

  CachedEntry entry_;
};

TEST_F(Evaluate, AnEntryInsideItsLifetimeIsFresh) {
  const Evaluation e = at(kT + 10 * kSecond);
  EXPECT_EQ(e.verdict, Verdict::Fresh);
  EXPECT_EQ(e.age_ms, 10 * kSecond);
  EXPECT_TRUE(e.usable_on_error);
}

TEST_F(Evaluate, AgeStartsFromTheCorrectedInitialAge) {
  entry_.corrected_initial_age_ms = 50 * kSecond;
  EXPECT_EQ(at(kT + 5 * kSecond).age_ms, 55 * kSecond);
  EXPECT_EQ(at(kT + 10 * kSecond).verdict, Verdict::StaleServable);
}

TEST_F(Evaluate, AClockGoingBackwardsDoesNotMakeTheEntryYounger) {
  EXPECT_EQ(at(kT - kHour).age_ms, 0);
}

TEST_F(Evaluate, AnEntryIsStaleOnceItsAgeReachesItsLifetime) {
  EXPECT_EQ(at(kT + kMinute - 1).verdict, Verdict::Fresh);
  EXPECT_EQ(at(kT + kMinute).verdict, Verdict::StaleServable);
}

TEST_F(Evaluate, StaleWhileRevalidateServesStaleOnlyInsideItsWindow) {
  EXPECT_EQ(at(kT + kMinute + 29 * kSecond).verdict, Verdict::StaleServable);
  EXPECT_EQ(at(kT + kMinute + 30 * kSecond).verdict, Verdict::MustRevalidate);
}

TEST_F(Evaluate, StaleIfErrorDecidesWhetherTheEntryCanCoverAnOriginFailure) {
  EXPECT_TRUE(at(kT + kMinute + 119 * kSecond).usable_on_error);
  EXPECT_FALSE(at(kT + kMinute + 120 * kSecond).usable_on_error);
}

TEST_F(Evaluate, MustRevalidateForbidsEveryStaleUse) {
  entry_.must_revalidate = true;
  const Evaluation stale = at(kT + kMinute + kSecond);
  EXPECT_EQ(stale.verdict, Verdict::MustRevalidate);
  EXPECT_FALSE(stale.usable_on_error);
  EXPECT_EQ(at(kT + kMinute + kSecond, "max-stale").verdict, Verdict::MustRevalidate);
  EXPECT_EQ(at(kT + kSecond).verdict, Verdict::Fresh);
}

TEST_F(Evaluate, AResponseNoCacheEntryAlwaysNeedsRevalidation) {
  entry_.no_cache = true;
  const Evaluation fresh = at(kT + kSecond);
  EXPECT_EQ(fresh.verdict, Verdict::MustRevalidate);
  EXPECT_FALSE(fresh.usable_on_error);
  EXPECT_EQ(at(kT + kMinute + kSecond).verdict, Verdict::MustRevalidate);
  EXPECT_EQ(at(kT + kMinute + kSecond, "max-stale").verdict, Verdict::MustRevalidate);
}

TEST_F(Evaluate, AnInvalidatedEntryIsServedStaleOnceWhenStaleWhileRevalidateAllows) {
  entry_.invalidated.store(true);
  const Evaluation e = at(kT + kSecond);
  EXPECT_EQ(e.verdict, Verdict::StaleServable);
  EXPECT_TRUE(e.usable_on_error);
}

TEST_F(Evaluate, AnInvalidatedEntryWithoutAStaleWindowMustBeRevalidated) {
  entry_.invalidated.store(true);
  entry_.stale_while_revalidate_ms = 0;
  entry_.stale_if_error_ms = 0;
  const Evaluation e = at(kT + kSecond);
  EXPECT_EQ(e.verdict, Verdict::MustRevalidate);
  EXPECT_FALSE(e.usable_on_error);
  EXPECT_EQ(at(kT + kSecond, "max-stale").verdict, Verdict::MustRevalidate);
}

TEST_F(Evaluate, AnInvalidatedNoCacheEntryIsNeverServedStale) {
  entry_.invalidated.store(true);
  entry_.no_cache = true;
  EXPECT_EQ(at(kT + kSecond).verdict, Verdict::MustRevalidate);
}

TEST_F(Evaluate, RequestNoCacheForcesRevalidationOfAFreshEntry) {
  const Evaluation e = at(kT + kSecond, "no-cache");
  EXPECT_EQ(e.verdict, Verdict::MustRevalidate);
  EXPECT_TRUE(e.usable_on_error);
}

TEST_F(Evaluate, RequestMaxAgeBoundsTheAcceptableAge) {
  EXPECT_EQ(at(kT + 10 * kSecond, "max-age=10").verdict, Verdict::Fresh);
  EXPECT_EQ(at(kT + 10 * kSecond + 1, "max-age=10").verdict, Verdict::MustRevalidate);
  // A reload (max-age=0) is not answered with stale-while-revalidate.
  EXPECT_EQ(at(kT + kMinute + kSecond, "max-age=0").verdict, Verdict::MustRevalidate);
}

TEST_F(Evaluate, RequestMinFreshNeedsThatMuchLifetimeLeft) {
  EXPECT_EQ(at(kT + 10 * kSecond, "min-fresh=50").verdict, Verdict::Fresh);
  EXPECT_EQ(at(kT + 10 * kSecond, "min-fresh=51").verdict, Verdict::MustRevalidate);
}

TEST_F(Evaluate, RequestMaxStaleAcceptsAStaleEntryAsItIs) {
  const int64_t stale_by_100s = kT + kMinute + 100 * kSecond;
  EXPECT_EQ(at(stale_by_100s).verdict, Verdict::MustRevalidate);
  EXPECT_EQ(at(stale_by_100s, "max-stale").verdict, Verdict::Fresh);
  EXPECT_EQ(at(stale_by_100s, "max-stale=100").verdict, Verdict::Fresh);
  EXPECT_EQ(at(stale_by_100s, "max-stale=99").verdict, Verdict::MustRevalidate);
}

TEST_F(Evaluate, RequestMaxStaleAlsoCoversAnOriginFailure) {
  entry_.stale_if_error_ms = 0;
  const int64_t stale_by_100s = kT + kMinute + 100 * kSecond;
  EXPECT_FALSE(at(stale_by_100s).usable_on_error);
  EXPECT_TRUE(at(stale_by_100s, "max-stale=200").usable_on_error);
}

TEST(AgeSeconds, IsWholeSecondsAndNeverNegative) {
  EXPECT_EQ(ageSeconds(0), 0);
  EXPECT_EQ(ageSeconds(999), 0);
  EXPECT_EQ(ageSeconds(1999), 1);
  EXPECT_EQ(ageSeconds(-5), 0);
}

}  // namespace
}  // namespace edge::cache
