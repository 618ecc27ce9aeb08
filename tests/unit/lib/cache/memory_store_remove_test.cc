// MemoryStore::removeIf: what a reload uses to drop the entries of route classes it removed.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "lib/cache/memory_store.h"

namespace edge::cache {
namespace {

std::shared_ptr<CachedEntry> entryOf(std::string key, std::string route_class,
                                     std::string vary_value = "") {
  auto entry = std::make_shared<CachedEntry>();
  entry->key = std::move(key);
  entry->route_class = std::move(route_class);
  entry->tags = {"t:" + entry->key};
  if (!vary_value.empty()) {
    entry->vary_values = {{"accept", std::move(vary_value)}};
  }
  entry->body = std::make_shared<const std::string>(100, 'b');
  return entry;
}

bool classIs(const CachedEntry& entry, const char* name) { return entry.route_class == name; }

TEST(MemoryStoreRemoveIf, RemovesOnlyTheSelectedEntriesAndKeepsTheAccountingRight) {
  MemoryStore store(64ull << 20, 4);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store.insert(entryOf("old/" + std::to_string(i), "old")));
    ASSERT_TRUE(store.insert(entryOf("kept/" + std::to_string(i), "kept")));
  }
  const StoreStats before = store.stats();
  EXPECT_EQ(store.removeIf([](const CachedEntry& e) { return classIs(e, "old"); }), 20u);
  const StoreStats after = store.stats();
  EXPECT_EQ(after.entries, 20u);
  EXPECT_LT(after.bytes, before.bytes);
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(store.peek("old/" + std::to_string(i)).empty());
    EXPECT_EQ(store.peek("kept/" + std::to_string(i)).size(), 1u);
  }
  // The removed entries' tags are gone from the index too: a purge by one finds nothing.
  EXPECT_EQ(store.purgeTag("t:old/3", PurgeMode::Hard), 0u);
  EXPECT_EQ(store.purgeTag("t:kept/3", PurgeMode::Hard), 1u);
}

TEST(MemoryStoreRemoveIf, RemovesOneVariantOfAKeyAndKeepsTheOther) {
  MemoryStore store(64ull << 20, 1);
  ASSERT_TRUE(store.insert(entryOf("k", "old", "text/html")));
  ASSERT_TRUE(store.insert(entryOf("k", "kept", "application/json")));
  ASSERT_EQ(store.peek("k").size(), 2u);
  EXPECT_EQ(store.removeIf([](const CachedEntry& e) { return classIs(e, "old"); }), 1u);
  const auto left = store.peek("k");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]->route_class, "kept");
}

TEST(MemoryStoreRemoveIf, LeavesNoMarkInThePurgeLog) {
  MemoryStore store(64ull << 20, 2);
  ASSERT_TRUE(store.insert(entryOf("a", "old")));
  const uint64_t generation = store.generation();
  store.removeIf([](const CachedEntry&) { return true; });
  EXPECT_EQ(store.generation(), generation);
  EXPECT_EQ(store.stats().entries, 0u);
}

}  // namespace
}  // namespace edge::cache
