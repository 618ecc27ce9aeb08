#include "proxy/upstream/balancer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace edge::upstream {
namespace {

class FakeHealth final : public ServerHealthView {
 public:
  explicit FakeHealth(std::vector<bool> healthy) : healthy_(std::move(healthy)) {}
  bool healthy(size_t server) const override { return healthy_[server]; }
  std::vector<bool> healthy_;
};

TEST(BalancerHealth, WithoutChecksEveryServerTakesItsTurn) {
  Balancer balancer(3, 1, 1000);
  EXPECT_EQ(balancer.pick(0, {}), 0u);
  EXPECT_EQ(balancer.pick(0, {}), 1u);
  EXPECT_EQ(balancer.pick(0, {}), 2u);
}

TEST(BalancerHealth, AnUnhealthyServerIsSkipped) {
  FakeHealth health({true, false, true});
  Balancer balancer(3, 1, 1000, &health);
  for (int i = 0; i < 6; ++i) {
    EXPECT_NE(balancer.pick(0, {}), 1u);
  }
  health.healthy_[1] = true;
  std::vector<size_t> picks;
  for (int i = 0; i < 3; ++i) {
    picks.push_back(balancer.pick(0, {}));
  }
  EXPECT_NE(std::find(picks.begin(), picks.end(), 1u), picks.end());
}

TEST(BalancerHealth, PassivelyEjectedAndUnhealthyAreBothSkipped) {
  FakeHealth health({false, true, true});
  Balancer balancer(3, 1, 1000, &health);
  balancer.reportFailure(1, 0);  // ejected until 1000
  EXPECT_EQ(balancer.pick(10, {}), 2u);
  EXPECT_EQ(balancer.pick(10, {}), 2u);
}

TEST(BalancerHealth, WhenNoneIsAvailableAHealthyEjectedOneBeatsAnUnhealthyOne) {
  FakeHealth health({false, true});
  Balancer balancer(2, 1, 1000, &health);
  balancer.reportFailure(1, 0);
  EXPECT_EQ(balancer.pick(10, {}), 1u);
}

TEST(BalancerHealth, WhenEveryServerIsUnhealthyItFailsOpen) {
  FakeHealth health({false, false});
  Balancer balancer(2, 1, 1000, &health);
  const size_t first = balancer.pick(0, {});
  EXPECT_NE(first, Balancer::kNone);
  std::vector<bool> tried(2, false);
  tried[first] = true;
  const size_t second = balancer.pick(0, tried);
  EXPECT_NE(second, Balancer::kNone);
  EXPECT_NE(second, first);
  tried[second] = true;
  EXPECT_EQ(balancer.pick(0, tried), Balancer::kNone);
}

}  // namespace
}  // namespace edge::upstream
