#include "lib/cache/purge_log.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace edge::cache {
namespace {

// Entries are not copyable (their invalidated flag is atomic): tests keep them here.
const CachedEntry& entryOf(std::string key, std::vector<std::string> tags = {}) {
  static std::vector<std::unique_ptr<CachedEntry>> kept;
  kept.push_back(std::make_unique<CachedEntry>());
  kept.back()->key = std::move(key);
  kept.back()->tags = std::move(tags);
  return *kept.back();
}

using Verdict = PurgeLog::Verdict;

TEST(PurgeLog, GenerationsStartAtOneAndCountPurges) {
  PurgeLog log;
  EXPECT_EQ(log.generation(), 1u);
  EXPECT_EQ(log.record(PurgeTarget::Key, "k", PurgeMode::Hard), 2u);
  EXPECT_EQ(log.record(PurgeTarget::Tag, "t", PurgeMode::Soft), 3u);
  EXPECT_EQ(log.generation(), 3u);
}

TEST(PurgeLog, OnlyPurgesAfterTheStampCount) {
  PurgeLog log;
  log.record(PurgeTarget::Key, "k", PurgeMode::Hard);
  const uint64_t stamp = log.generation();
  EXPECT_EQ(log.check(entryOf("k"), stamp), Verdict::Keep);
  EXPECT_EQ(log.check(entryOf("k"), stamp - 1), Verdict::Drop);
}

TEST(PurgeLog, EachTargetMatchesWhatItNames) {
  PurgeLog log;
  const uint64_t stamp = log.generation();
  log.record(PurgeTarget::Tag, "org:1", PurgeMode::Soft);
  log.record(PurgeTarget::Glob, "h|/a/*", PurgeMode::Hard);
  log.record(PurgeTarget::Glob, "org:2:*", PurgeMode::Soft);
  EXPECT_EQ(log.check(entryOf("h|/x", {"org:1"}), stamp), Verdict::Invalidate);
  EXPECT_EQ(log.check(entryOf("h|/a/1"), stamp), Verdict::Drop);
  EXPECT_EQ(log.check(entryOf("h|/y", {"org:2:list"}), stamp), Verdict::Invalidate);
  EXPECT_EQ(log.check(entryOf("h|/z", {"org:3"}), stamp), Verdict::Keep);
}

TEST(PurgeLog, AHardPurgeWinsOverASoftOne) {
  PurgeLog log;
  const uint64_t stamp = log.generation();
  log.record(PurgeTarget::Tag, "t", PurgeMode::Soft);
  log.record(PurgeTarget::Key, "k", PurgeMode::Hard);
  EXPECT_EQ(log.check(entryOf("k", {"t"}), stamp), Verdict::Drop);
}

TEST(PurgeLog, PurgeAllNamesEverything) {
  PurgeLog log;
  const uint64_t stamp = log.generation();
  log.record(PurgeTarget::All, "", PurgeMode::Soft);
  EXPECT_EQ(log.check(entryOf("anything"), stamp), Verdict::Invalidate);
}

TEST(PurgeLog, AStampOlderThanTheKeptHistoryMeansRevalidate) {
  PurgeLog log(2);
  const uint64_t stamp = log.generation();
  log.record(PurgeTarget::Key, "a", PurgeMode::Hard);
  log.record(PurgeTarget::Key, "b", PurgeMode::Hard);
  EXPECT_EQ(log.check(entryOf("c"), stamp), Verdict::Keep);  // both still kept
  log.record(PurgeTarget::Key, "d", PurgeMode::Hard);        // "a" forgotten
  EXPECT_EQ(log.check(entryOf("c"), stamp), Verdict::Invalidate);
  EXPECT_EQ(log.check(entryOf("d"), stamp), Verdict::Drop);
  EXPECT_EQ(log.check(entryOf("c"), stamp + 1), Verdict::Keep);
}

}  // namespace
}  // namespace edge::cache
