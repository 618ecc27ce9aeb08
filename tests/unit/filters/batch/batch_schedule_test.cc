#include "filters/batch/batch_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace edge::filters::batch {
namespace {

using Items = std::vector<size_t>;

// The items of `items` in ascending order: for results whose order is not specified.
Items sorted(Items items) {
  std::sort(items.begin(), items.end());
  return items;
}

TEST(Schedule, StartsItemsInRequestOrderUpToTheCap) {
  Schedule schedule({{}, {}, {}, {}, {}}, 2);
  EXPECT_EQ(schedule.takeReady(), (Items{0, 1}));
  EXPECT_EQ(schedule.takeReady(), Items{});  // the cap is reached
  EXPECT_EQ(schedule.finish(1, true), Items{});
  EXPECT_EQ(schedule.takeReady(), (Items{2}));
  EXPECT_EQ(schedule.finish(0, true), Items{});
  EXPECT_EQ(schedule.finish(2, true), Items{});
  EXPECT_EQ(schedule.takeReady(), (Items{3, 4}));
  EXPECT_FALSE(schedule.allFinished());
  schedule.finish(3, true);
  schedule.finish(4, true);
  EXPECT_TRUE(schedule.allFinished());
  EXPECT_EQ(schedule.takeReady(), Items{});
}

TEST(Schedule, NeverRunsMoreThanTheCapAtOnce) {
  const size_t count = 9;
  for (size_t cap : {1u, 2u, 4u, 20u}) {
    SCOPED_TRACE(cap);
    Schedule schedule(std::vector<std::vector<size_t>>(count), cap);
    std::vector<size_t> running;
    size_t started = 0;
    while (!schedule.allFinished()) {
      for (size_t item : schedule.takeReady()) {
        running.push_back(item);
        ++started;
      }
      ASSERT_LE(running.size(), cap);
      ASSERT_FALSE(running.empty());
      schedule.finish(running.front(), true);
      running.erase(running.begin());
    }
    EXPECT_EQ(started, count);
  }
}

TEST(Schedule, ACapOfZeroStillRunsOneAtATime) {
  Schedule schedule({{}, {}}, 0);
  EXPECT_EQ(schedule.takeReady(), (Items{0}));
  schedule.finish(0, true);
  EXPECT_EQ(schedule.takeReady(), (Items{1}));
}

TEST(Schedule, RunsAnItemOnlyAfterEveryDependencySucceeded) {
  // 0 waits for 2 and 3; 1 waits for 0.
  Schedule schedule({{2, 3}, {0}, {}, {}}, 10);
  EXPECT_EQ(schedule.takeReady(), (Items{2, 3}));
  EXPECT_EQ(schedule.finish(3, true), Items{});
  EXPECT_EQ(schedule.takeReady(), Items{});  // 2 still runs
  EXPECT_EQ(schedule.finish(2, true), Items{});
  EXPECT_EQ(schedule.takeReady(), (Items{0}));
  EXPECT_EQ(schedule.takeReady(), Items{});
  EXPECT_EQ(schedule.finish(0, true), Items{});
  EXPECT_EQ(schedule.takeReady(), (Items{1}));
  schedule.finish(1, true);
  EXPECT_TRUE(schedule.allFinished());
}

TEST(Schedule, AWaitingItemDoesNotHoldBackLaterOnesOrTakeASlot) {
  Schedule schedule({{1}, {}, {}}, 2);
  EXPECT_EQ(schedule.takeReady(), (Items{1, 2}));
}

TEST(Schedule, AFailedDependencyFailsItsDependentsTransitively) {
  // 1 needs 0, 2 needs 1, 3 is independent, 4 needs 3.
  Schedule schedule({{}, {0}, {1}, {}, {3}}, 10);
  EXPECT_EQ(schedule.takeReady(), (Items{0, 3}));
  EXPECT_EQ(sorted(schedule.finish(0, false)), (Items{1, 2}));
  EXPECT_FALSE(schedule.allFinished());
  EXPECT_EQ(schedule.takeReady(), Items{});
  EXPECT_EQ(schedule.finish(3, true), Items{});
  EXPECT_EQ(schedule.takeReady(), (Items{4}));
  schedule.finish(4, true);
  EXPECT_TRUE(schedule.allFinished());
}

TEST(Schedule, TransitiveFailuresAreFoundWhateverTheOrderOfItems) {
  // 0 needs 1, 1 needs 2, 2 needs 3: the chain points backwards in request order.
  Schedule schedule({{1}, {2}, {3}, {}}, 10);
  EXPECT_EQ(schedule.takeReady(), (Items{3}));
  EXPECT_EQ(sorted(schedule.finish(3, false)), (Items{0, 1, 2}));
  EXPECT_TRUE(schedule.allFinished());
}

TEST(Schedule, OneFailedDependencyIsEnough) {
  Schedule schedule({{}, {}, {0, 1}}, 10);
  EXPECT_EQ(schedule.takeReady(), (Items{0, 1}));
  EXPECT_EQ(schedule.finish(0, true), Items{});
  EXPECT_EQ(schedule.takeReady(), Items{});
  EXPECT_EQ(schedule.finish(1, false), (Items{2}));
  EXPECT_TRUE(schedule.allFinished());
}

TEST(Schedule, AFailureFreesItsSlot) {
  Schedule schedule({{}, {}, {}}, 1);
  EXPECT_EQ(schedule.takeReady(), (Items{0}));
  EXPECT_EQ(schedule.finish(0, false), Items{});
  EXPECT_EQ(schedule.takeReady(), (Items{1}));
}

TEST(Schedule, FailedItemsThatNeverRanDoNotTakeSlots) {
  // 1 and 2 fail with 0; 3 and 4 then run two at a time.
  Schedule schedule({{}, {0}, {0}, {}, {}}, 2);
  EXPECT_EQ(schedule.takeReady(), (Items{0, 3}));
  EXPECT_EQ(sorted(schedule.finish(0, false)), (Items{1, 2}));
  EXPECT_EQ(schedule.takeReady(), (Items{4}));
  schedule.finish(3, true);
  schedule.finish(4, true);
  EXPECT_TRUE(schedule.allFinished());
}

}  // namespace
}  // namespace edge::filters::batch
