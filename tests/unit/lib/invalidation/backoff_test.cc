#include "lib/invalidation/backoff.h"

#include <gtest/gtest.h>

namespace edge::invalidation {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kMin{100};
constexpr milliseconds kMax{10'000};

TEST(Backoff, TheFirstRetryWaitsBetweenMinAndTwiceMin) {
  EXPECT_EQ(backoffDelay(0, kMin, kMax, 0.0), milliseconds(100));
  EXPECT_EQ(backoffDelay(0, kMin, kMax, 0.5), milliseconds(150));
  EXPECT_EQ(backoffDelay(0, kMin, kMax, 0.999), milliseconds(199));
}

TEST(Backoff, EachAttemptDoublesTheRange) {
  EXPECT_EQ(backoffDelay(1, kMin, kMax, 0.0), milliseconds(200));
  EXPECT_EQ(backoffDelay(1, kMin, kMax, 0.999), milliseconds(399));
  EXPECT_EQ(backoffDelay(4, kMin, kMax, 0.0), milliseconds(1600));
}

TEST(Backoff, TheDelayNeverExceedsMaxAndKeepsItsJitterThere) {
  EXPECT_EQ(backoffDelay(7, kMin, kMax, 0.999), milliseconds(9995));
  EXPECT_EQ(backoffDelay(7, kMin, kMax, 0.0), milliseconds(5000));
  EXPECT_EQ(backoffDelay(1000, kMin, kMax, 1.0), kMax);  // no overflow however long it lasts
}

TEST(Backoff, NeverBelowMinEvenWhenMaxEqualsMin) {
  EXPECT_EQ(backoffDelay(0, kMin, kMin, 0.0), kMin);
  EXPECT_EQ(backoffDelay(9, kMin, kMin, 0.9), kMin);
}

TEST(Backoff, OutOfRangeRandomValuesAreClamped) {
  EXPECT_EQ(backoffDelay(0, kMin, kMax, -3.0), milliseconds(100));
  EXPECT_EQ(backoffDelay(0, kMin, kMax, 7.0), milliseconds(200));
}

TEST(GapPolicy, AFirstSubscriptionMadeAtOnceMissedNothing) {
  EXPECT_EQ(gapAction(config::GapPolicy::PurgeAll, {true, true, false}), GapAction::None);
}

TEST(GapPolicy, AReconnectAppliesTheConfiguredPolicy) {
  const SubscriptionStart reconnect{false, false, false};
  EXPECT_EQ(gapAction(config::GapPolicy::RevalidateAll, reconnect), GapAction::RevalidateAll);
  EXPECT_EQ(gapAction(config::GapPolicy::PurgeAll, reconnect), GapAction::PurgeAll);
  EXPECT_EQ(gapAction(config::GapPolicy::Ignore, reconnect), GapAction::None);
}

TEST(GapPolicy, AFirstSubscriptionAfterFailedAttemptsCountsAsAGap) {
  // Entries were cached while Redis was unreachable at startup.
  EXPECT_EQ(gapAction(config::GapPolicy::RevalidateAll, {true, false, false}),
            GapAction::RevalidateAll);
}

TEST(GapPolicy, AStreamResumedFromTheLastIdMissedNothing) {
  EXPECT_EQ(gapAction(config::GapPolicy::PurgeAll, {false, false, true}), GapAction::None);
}

TEST(GapPolicy, ActionsHaveTheirConfigNames) {
  EXPECT_STREQ(gapActionName(GapAction::RevalidateAll), "revalidate_all");
  EXPECT_STREQ(gapActionName(GapAction::PurgeAll), "purge_all");
  EXPECT_STREQ(gapActionName(GapAction::None), "none");
}

}  // namespace
}  // namespace edge::invalidation
