#include "proxy/net/connection_timer.h"

#include <gtest/gtest.h>
#include <uv.h>

#include <memory>
#include <vector>

namespace edge::net {
namespace {

enum class Reason { None, Connect, Idle };

// The timers here all run for 0 ms: they expire on the loop's next turn, so nothing waits
// on the clock.
class ConnectionTimerTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a timer handle outlived its owner";
  }

  std::unique_ptr<ConnectionTimer<Reason>> makeTimer() {
    return std::make_unique<ConnectionTimer<Reason>>(
        &loop_, [this](Reason reason) { expired_.push_back(reason); });
  }
  // Runs until nothing is left to run (a 0 ms timer has expired by then).
  void runLoop() { uv_run(&loop_, UV_RUN_DEFAULT); }

  uv_loop_t loop_{};
  std::vector<Reason> expired_;
};

TEST_F(ConnectionTimerTest, ExpiresWithTheReasonItWasStartedForAndIsThenIdle) {
  auto timer = makeTimer();
  timer->start(Reason::Connect, std::chrono::milliseconds(0));
  EXPECT_EQ(timer->reason(), Reason::Connect);
  runLoop();
  EXPECT_EQ(expired_, std::vector<Reason>{Reason::Connect});
  EXPECT_EQ(timer->reason(), Reason::None);
}

TEST_F(ConnectionTimerTest, RestartingForAnotherReasonReplacesTheFirst) {
  auto timer = makeTimer();
  timer->start(Reason::Connect, std::chrono::milliseconds(0));
  timer->start(Reason::Idle, std::chrono::milliseconds(0));
  runLoop();
  EXPECT_EQ(expired_, std::vector<Reason>{Reason::Idle});
}

TEST_F(ConnectionTimerTest, StopCancelsTheCallback) {
  auto timer = makeTimer();
  timer->start(Reason::Idle, std::chrono::milliseconds(0));
  timer->stop();
  EXPECT_EQ(timer->reason(), Reason::None);
  runLoop();
  EXPECT_TRUE(expired_.empty());
}

TEST_F(ConnectionTimerTest, DestroyingTheOwnerCancelsAndFreesTheTimer) {
  auto timer = makeTimer();
  timer->start(Reason::Idle, std::chrono::milliseconds(0));
  timer.reset();
  runLoop();
  EXPECT_TRUE(expired_.empty());
}

TEST_F(ConnectionTimerTest, MayBeClosedFromInsideItsCallbackAndIgnoresLaterStarts) {
  std::unique_ptr<ConnectionTimer<Reason>> timer;
  timer = std::make_unique<ConnectionTimer<Reason>>(&loop_, [&](Reason reason) {
    expired_.push_back(reason);
    timer->close();
    timer->start(Reason::Idle, std::chrono::milliseconds(0));
  });
  timer->start(Reason::Connect, std::chrono::milliseconds(0));
  runLoop();
  EXPECT_EQ(expired_, std::vector<Reason>{Reason::Connect});
}

}  // namespace
}  // namespace edge::net
