#include "lib/cache/coalescer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace edge::cache {
namespace {

TEST(Coalescer, TheFirstRequestLeadsAndLaterOnesFollowTheSameFlight) {
  Coalescer c;
  auto leader = c.join("k", 0);
  auto follower = c.join("k", 0);
  EXPECT_EQ(leader.role, Coalescer::Role::Leader);
  EXPECT_EQ(follower.role, Coalescer::Role::Follower);
  EXPECT_EQ(leader.flight, follower.flight);
  EXPECT_EQ(c.join("other", 0).role, Coalescer::Role::Leader);
  EXPECT_EQ(c.inFlightCount(), 2u);
}

TEST(Coalescer, AFinishedFlightIsNoLongerJoined) {
  Coalescer c;
  auto first = c.join("k", 0);
  c.finish(first.flight);
  auto second = c.join("k", 0);
  EXPECT_EQ(second.role, Coalescer::Role::Leader);
  EXPECT_NE(second.flight, first.flight);
  c.finish(first.flight);  // a stale finish must not remove the new flight
  EXPECT_EQ(c.join("k", 0).role, Coalescer::Role::Follower);
}

TEST(Coalescer, HitForMissBypassesCoalescingUntilItExpires) {
  Coalescer c;
  c.markUncacheable("k", 1000, 2000);
  EXPECT_EQ(c.join("k", 1500).role, Coalescer::Role::HitForMiss);
  EXPECT_EQ(c.join("k", 1500).flight, nullptr);
  EXPECT_EQ(c.join("k", 2000).role, Coalescer::Role::Leader);
}

TEST(Coalescer, ClearingTheMarkerRestoresCoalescing) {
  Coalescer c;
  c.markUncacheable("k", 0, 10'000);
  c.clearUncacheable("k");
  EXPECT_EQ(c.join("k", 1).role, Coalescer::Role::Leader);
}

TEST(Coalescer, ExactlyOneLeaderAcrossThreads) {
  Coalescer c;
  std::atomic<int> leaders{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (c.join("key" + std::to_string(i), 0).role == Coalescer::Role::Leader) {
          ++leaders;
        }
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  EXPECT_EQ(leaders.load(), 1000);
}

TEST(InFlight, SubscribersAreNotifiedOnceUntilTheyRead) {
  InFlight flight("k");
  int calls = 0;
  auto sub = flight.subscribe([&] { ++calls; });
  flight.publishHead({200, "OK", {}, 3, {}});
  flight.publishBody(std::make_shared<const std::string>("a"));
  EXPECT_EQ(calls, 1);
  auto view = flight.read(*sub);
  EXPECT_EQ(view.state, InFlight::State::Streaming);
  ASSERT_EQ(view.chunks.size(), 1u);
  flight.publishBody(std::make_shared<const std::string>("b"));
  EXPECT_EQ(calls, 2);
  view = flight.read(*sub);
  ASSERT_EQ(view.chunks.size(), 1u);
  EXPECT_EQ(*view.chunks[0], "b");
}

TEST(InFlight, ALateSubscriberGetsEverythingPublishedSoFar) {
  InFlight flight("k");
  flight.publishHead({200, "OK", {}, std::nullopt, {}});
  flight.publishBody(std::make_shared<const std::string>("ab"));
  flight.publishBody(std::make_shared<const std::string>("cd"));
  int calls = 0;
  auto sub = flight.subscribe([&] { ++calls; });
  EXPECT_EQ(calls, 1);
  auto view = flight.read(*sub);
  ASSERT_EQ(view.chunks.size(), 2u);
  EXPECT_EQ(*view.chunks[1], "cd");
  ASSERT_NE(view.head, nullptr);
  EXPECT_EQ(view.head->status, 200);
}

TEST(InFlight, CancelledOrDroppedSubscriptionsHearNothing) {
  InFlight flight("k");
  int cancelled_calls = 0;
  int dropped_calls = 0;
  auto cancelled = flight.subscribe([&] { ++cancelled_calls; });
  {
    auto dropped = flight.subscribe([&] { ++dropped_calls; });
  }
  cancelled->cancel();
  flight.fail(502, "refused", nullptr, http::ErrorKind::ConnectRefused);
  EXPECT_EQ(cancelled_calls, 0);
  EXPECT_EQ(dropped_calls, 0);
}

TEST(InFlight, FailureCarriesTheStatusReasonKindAndFallback) {
  InFlight flight("k");
  auto sub = flight.subscribe([] {});
  auto stale = std::make_shared<const CachedEntry>();
  flight.fail(504, "timed out", stale, http::ErrorKind::FirstByteTimeout);
  auto view = flight.read(*sub);
  EXPECT_EQ(view.state, InFlight::State::Failed);
  EXPECT_EQ(view.status, 504);
  EXPECT_EQ(view.reason, "timed out");
  EXPECT_EQ(view.error, http::ErrorKind::FirstByteTimeout);
  EXPECT_EQ(view.fallback, stale);
}

}  // namespace
}  // namespace edge::cache
