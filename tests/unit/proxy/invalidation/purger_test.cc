#include "proxy/invalidation/purger.h"

#include "lib/cache/memory_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/invalidation/log_limiter.h"

namespace edge::invalidation {
namespace {

bool any(const cache::CachedEntry& /*entry*/) { return true; }

class PurgerTest : public ::testing::Test {
 protected:
  void store(std::string key, std::vector<std::string> tags) {
    auto entry = std::make_shared<cache::CachedEntry>();
    entry->key = std::move(key);
    entry->tags = std::move(tags);
    entry->body = std::make_shared<const std::string>("x");
    entry->freshness_lifetime_ms = 60'000;
    ASSERT_TRUE(store_.insert(std::move(entry)));
  }
  bool stored(const std::string& key) { return store_.lookup(key, any) != nullptr; }
  bool invalidated(const std::string& key) {
    return store_.lookup(key, any)->invalidated.load();
  }

  cache::MemoryStore store_{64 << 20, 4};
  InvalidationStats stats_;
  Purger purger_{store_, stats_, 1024};
};

TEST_F(PurgerTest, APlainPatternPurgesMatchingTagsAndKeysAndNothingElse) {
  store("h|/wo/1|c|", {"org:42:wo:1", "org:42:list"});
  store("h|/wo/2|c|", {"org:7:list"});
  store("org:42:raw|", {});
  purger_.onMessage("org:42:*", "test");
  EXPECT_FALSE(stored("h|/wo/1|c|"));
  EXPECT_FALSE(stored("org:42:raw|"));
  EXPECT_TRUE(stored("h|/wo/2|c|"));
  EXPECT_EQ(stats_.messages, 1u);
  EXPECT_EQ(stats_.purged_entries, 2u);
}

TEST_F(PurgerTest, ASoftJsonPurgeInvalidatesInsteadOfRemoving) {
  store("h|/a|c|", {"t"});
  store("h|/b|c|", {});
  purger_.onMessage(R"({"tags":["t"],"keys":["h|/b|c|"],"soft":true})", "test");
  EXPECT_TRUE(invalidated("h|/a|c|"));
  EXPECT_TRUE(invalidated("h|/b|c|"));
}

TEST_F(PurgerTest, AMalformedMessageIsCountedAndPurgesNothing) {
  store("h|/a|c|", {"t"});
  purger_.onMessage(R"({"tags":"t"})", "test");
  purger_.onMessage(std::string(2000, 't'), "test");  // over the 1024-byte limit
  EXPECT_TRUE(stored("h|/a|c|"));
  EXPECT_FALSE(invalidated("h|/a|c|"));
  EXPECT_EQ(stats_.messages, 2u);
  EXPECT_EQ(stats_.malformed, 2u);
  EXPECT_EQ(stats_.purges, 0u);
  EXPECT_NE(stats_.last_malformed_reason.find("larger than the limit"), std::string::npos);
}

TEST_F(PurgerTest, TheGapPolicyRevalidatesOrPurgesEverything) {
  store("h|/a|c|", {});
  purger_.applyGap(GapAction::RevalidateAll, 1500);
  EXPECT_TRUE(invalidated("h|/a|c|"));
  EXPECT_EQ(stats_.gaps, 1u);
  EXPECT_EQ(stats_.last_gap_action, "revalidate_all");
  EXPECT_EQ(stats_.last_gap_down_ms, 1500);
  purger_.applyGap(GapAction::PurgeAll, 10);
  EXPECT_FALSE(stored("h|/a|c|"));
  purger_.applyGap(GapAction::None, 10);
  EXPECT_EQ(stats_.gaps, 2u);
}

TEST(LogLimiter, AllowsABurstPerWindowThenReportsWhatItLeftOut) {
  LogLimiter limiter(2, 1000);
  uint64_t suppressed = 99;
  EXPECT_TRUE(limiter.allow(0, suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(limiter.allow(10, suppressed));
  EXPECT_FALSE(limiter.allow(20, suppressed));
  EXPECT_FALSE(limiter.allow(30, suppressed));
  EXPECT_TRUE(limiter.allow(1000, suppressed));
  EXPECT_EQ(suppressed, 2u);
}

}  // namespace
}  // namespace edge::invalidation
