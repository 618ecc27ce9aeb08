#include "proxy/reload_plan.h"

#include <gtest/gtest.h>

namespace edge {
namespace {

config::ListenConfig at(const char* host, uint16_t port) {
  return config::ListenConfig{config::HostPort{host, port}, std::nullopt};
}

TEST(PlanListeners, UnchangedAddressesKeepTheirSocketsAtTheirNewPlaces) {
  const auto plan = planListeners({at("127.0.0.1", 80), at("127.0.0.1", 81)},
                                  {at("127.0.0.1", 81), at("127.0.0.1", 80)});
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[0], std::optional<size_t>(1));
  EXPECT_EQ(plan[1], std::optional<size_t>(0));
}

TEST(PlanListeners, NewAddressesAreOpenedAndMissingOnesAreNotKept) {
  const auto plan = planListeners({at("127.0.0.1", 80), at("127.0.0.1", 81)},
                                  {at("127.0.0.1", 80), at("::1", 81)});
  EXPECT_EQ(plan[0], std::optional<size_t>(0));
  EXPECT_EQ(plan[1], std::nullopt);
}

TEST(PlanListeners, APortZeroListenerKeepsTheFreePortItWasGiven) {
  const auto plan = planListeners({at("127.0.0.1", 0)}, {at("127.0.0.1", 0), at("127.0.0.1", 0)});
  EXPECT_EQ(plan[0], std::optional<size_t>(0));
  EXPECT_EQ(plan[1], std::nullopt);  // a second one is a second free port
}

TEST(PlanListeners, TurningTlsOnKeepsTheSocket) {
  config::ListenConfig tls = at("127.0.0.1", 443);
  tls.tls = config::TlsListenerConfig{};
  const auto plan = planListeners({at("127.0.0.1", 443)}, {tls});
  EXPECT_EQ(plan[0], std::optional<size_t>(0));
}

}  // namespace
}  // namespace edge
