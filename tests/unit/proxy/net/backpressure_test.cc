#include "proxy/net/backpressure.h"

#include <gtest/gtest.h>

namespace edge::net {
namespace {

TEST(BackpressureTest, CongestedOnlyAboveTheHighMark) {
  Backpressure gate(WaterMarks{100, 10});
  EXPECT_FALSE(gate.congested(100));
  EXPECT_TRUE(gate.congested(101));
}

TEST(BackpressureTest, RelievedOnceBelowTheLowMarkAfterAWait) {
  Backpressure gate(WaterMarks{100, 10});
  EXPECT_FALSE(gate.relieved(0)) << "nobody waits";
  ASSERT_TRUE(gate.congested(200));
  EXPECT_FALSE(gate.relieved(50)) << "between the marks";
  EXPECT_FALSE(gate.relieved(10));
  EXPECT_TRUE(gate.relieved(9));
  EXPECT_FALSE(gate.relieved(0)) << "once per wait";
}

TEST(BackpressureTest, AForgottenWaitIsNeverRelieved) {
  Backpressure gate(WaterMarks{100, 10});
  ASSERT_TRUE(gate.congested(200));
  gate.forget();
  EXPECT_FALSE(gate.relieved(0));
}

}  // namespace
}  // namespace edge::net
