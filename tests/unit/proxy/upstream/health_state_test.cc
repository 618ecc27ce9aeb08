#include "proxy/upstream/health_state.h"

#include <gtest/gtest.h>

namespace edge::upstream {
namespace {

TEST(HealthState, StartsHealthy) {
  HealthState state(2, 3);
  EXPECT_TRUE(state.healthy());
  EXPECT_EQ(state.consecutiveSuccesses(), 0u);
  EXPECT_EQ(state.consecutiveFailures(), 0u);
}

TEST(HealthState, TurnsUnhealthyAfterTheThresholdOfFailuresInARow) {
  HealthState state(2, 3);
  EXPECT_FALSE(state.record(false));
  EXPECT_FALSE(state.record(false));
  EXPECT_TRUE(state.healthy());
  EXPECT_TRUE(state.record(false));
  EXPECT_FALSE(state.healthy());
  EXPECT_EQ(state.consecutiveFailures(), 3u);
  EXPECT_FALSE(state.record(false));  // already unhealthy: no change reported
  EXPECT_EQ(state.consecutiveFailures(), 4u);
}

TEST(HealthState, APassBetweenFailuresStartsTheCountAgain) {
  HealthState state(2, 3);
  state.record(false);
  state.record(false);
  state.record(true);
  EXPECT_EQ(state.consecutiveFailures(), 0u);
  EXPECT_EQ(state.consecutiveSuccesses(), 1u);
  state.record(false);
  state.record(false);
  EXPECT_TRUE(state.healthy());
}

TEST(HealthState, RecoversAfterTheThresholdOfPassesInARow) {
  HealthState state(2, 1);
  EXPECT_TRUE(state.record(false));
  EXPECT_FALSE(state.record(true));
  EXPECT_FALSE(state.healthy());
  EXPECT_FALSE(state.record(false));  // the pass streak is broken
  EXPECT_FALSE(state.record(true));
  EXPECT_TRUE(state.record(true));
  EXPECT_TRUE(state.healthy());
  EXPECT_EQ(state.consecutiveSuccesses(), 2u);
}

TEST(HealthState, ZeroThresholdsActAsOne) {
  HealthState state(0, 0);
  EXPECT_TRUE(state.record(false));
  EXPECT_TRUE(state.record(true));
}

}  // namespace
}  // namespace edge::upstream
