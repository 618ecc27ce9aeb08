// Purges that run while a response is being fetched, and the soft purge of everything.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/cache/entry.h"
#include "lib/cache/memory_store.h"

namespace edge::cache {
namespace {

constexpr uint64_t kRoomy = 64ull << 20;

// An entry as a fetch builds it: stamped with the generation its request started in.
std::shared_ptr<CachedEntry> fetched(std::string key, uint64_t generation,
                                     std::vector<std::string> tags = {}) {
  auto entry = std::make_shared<CachedEntry>();
  entry->key = std::move(key);
  entry->tags = std::move(tags);
  entry->body = std::make_shared<const std::string>(100, 'b');
  entry->generation = generation;
  return entry;
}

bool any(const CachedEntry& /*entry*/) { return true; }

TEST(MemoryStoreGeneration, AResponseFetchedBeforeAHardPurgeNamingItIsNotStored) {
  MemoryStore store(kRoomy, 4);
  const uint64_t started = store.generation();
  EXPECT_EQ(store.purgeGlob("org:42:*", PurgeMode::Hard), 0u);  // nothing stored yet
  EXPECT_FALSE(store.insert(fetched("h|/wo/1", started, {"org:42:wo:1"})));
  EXPECT_EQ(store.lookup("h|/wo/1", any), nullptr);
}

TEST(MemoryStoreGeneration, AResponseFetchedBeforeASoftPurgeIsStoredInvalidated) {
  MemoryStore store(kRoomy, 4);
  const uint64_t started = store.generation();
  store.purgeTag("org:42", PurgeMode::Soft);
  ASSERT_TRUE(store.insert(fetched("h|/wo/1", started, {"org:42"})));
  EXPECT_TRUE(store.lookup("h|/wo/1", any)->invalidated.load());
}

TEST(MemoryStoreGeneration, PurgesThatDoNotNameItOrCameBeforeItChangeNothing) {
  MemoryStore store(kRoomy, 4);
  store.purgeKey("h|/wo/1", PurgeMode::Hard);
  const uint64_t started = store.generation();
  store.purgeTag("org:7", PurgeMode::Hard);
  ASSERT_TRUE(store.insert(fetched("h|/wo/1", started, {"org:42"})));
  EXPECT_FALSE(store.lookup("h|/wo/1", any)->invalidated.load());
}

TEST(MemoryStoreGeneration, SoftPurgeAllInvalidatesOnlyWhatWasFetchedBefore) {
  MemoryStore store(kRoomy, 4);
  const uint64_t before = store.generation();
  ASSERT_TRUE(store.insert(fetched("old", before)));
  EXPECT_EQ(store.purgeAll(PurgeMode::Soft), 1u);
  ASSERT_TRUE(store.insert(fetched("late", before)));  // in flight during the purge
  ASSERT_TRUE(store.insert(fetched("new", store.generation())));
  EXPECT_TRUE(store.lookup("old", any)->invalidated.load());
  EXPECT_TRUE(store.lookup("late", any)->invalidated.load());
  EXPECT_FALSE(store.lookup("new", any)->invalidated.load());
  EXPECT_EQ(store.stats().entries, 3u);
}

TEST(MemoryStoreGeneration, PeekSeesTheSoftPurgeOfEverythingToo) {
  MemoryStore store(kRoomy, 4);
  ASSERT_TRUE(store.insert(fetched("old", store.generation())));
  store.purgeAll(PurgeMode::Soft);
  const std::vector<EntryPtr> variants = store.peek("old");
  ASSERT_EQ(variants.size(), 1u);
  EXPECT_TRUE(variants[0]->invalidated.load());
  EXPECT_TRUE(store.peek("absent").empty());
}

TEST(MemoryStoreGeneration, ACopyOfASoftPurgedEntryStaysInvalidated) {
  MemoryStore store(kRoomy, 4);
  auto original = fetched("k", store.generation(), {"t"});
  ASSERT_TRUE(store.insert(original));
  store.purgeTag("t", PurgeMode::Soft);
  std::shared_ptr<CachedEntry> copy = cloneEntry(*original);  // say, with a gzip form added
  copy->invalidated.store(false);  // copied before the purge marked the original
  ASSERT_TRUE(store.insert(copy));
  EXPECT_TRUE(store.lookup("k", any)->invalidated.load());
}

TEST(MemoryStoreGeneration, ACopyOfAHardPurgedEntryIsNotStoredAgain) {
  MemoryStore store(kRoomy, 4);
  auto original = fetched("k", store.generation());
  ASSERT_TRUE(store.insert(original));
  std::shared_ptr<CachedEntry> copy = cloneEntry(*original);
  store.purgeKey("k", PurgeMode::Hard);
  EXPECT_FALSE(store.insert(copy));
  EXPECT_EQ(store.lookup("k", any), nullptr);
}

TEST(MemoryStoreGeneration, ACopyOfAnUntouchedEntryStaysFreshHoweverManyPurgesRan) {
  MemoryStore store(kRoomy, 4);
  auto original = fetched("k", store.generation());
  ASSERT_TRUE(store.insert(original));
  for (int i = 0; i < 10000; ++i) {  // more than the log keeps
    store.purgeKey("other" + std::to_string(i), PurgeMode::Hard);
  }
  ASSERT_TRUE(store.insert(cloneEntry(*original)));
  EXPECT_FALSE(store.lookup("k", any)->invalidated.load());
}

TEST(MemoryStoreGeneration, ARefreshFetchedBeforeAPurgeOfItsKeyIsNotStored) {
  MemoryStore store(kRoomy, 4);
  auto stale = fetched("k", store.generation());
  ASSERT_TRUE(store.insert(stale));
  std::shared_ptr<CachedEntry> refreshed = cloneEntry(*stale);  // a 304 keeps the body
  refreshed->generation = store.generation();                   // when the revalidation left
  store.purgeKey("k", PurgeMode::Hard);
  EXPECT_FALSE(store.insert(refreshed));
}

}  // namespace
}  // namespace edge::cache
