#include "lib/cache/memory_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace edge::cache {
namespace {

using VaryValues = std::vector<std::pair<std::string, std::string>>;

constexpr uint64_t kRoomy = 64ull << 20;

std::shared_ptr<CachedEntry> makeEntry(std::string key, std::vector<std::string> tags = {},
                                       VaryValues vary = {}, size_t body_size = 100) {
  auto entry = std::make_shared<CachedEntry>();
  entry->key = std::move(key);
  entry->tags = std::move(tags);
  entry->vary_values = std::move(vary);
  entry->body = std::make_shared<const std::string>(body_size, 'b');
  return entry;
}

bool any(const CachedEntry& /*entry*/) { return true; }

std::function<bool(const CachedEntry&)> varyIs(std::string name, std::string value) {
  return [name = std::move(name), value = std::move(value)](const CachedEntry& e) {
    for (const auto& [n, v] : e.vary_values) {
      if (n == name) {
        return v == value;
      }
    }
    return false;
  };
}

TEST(MemoryStore, InsertedEntryIsFoundByItsKeyAndAMissingKeyIsNot) {
  MemoryStore store(kRoomy, 4);
  EntryPtr entry = makeEntry("a.com|/x|c|");
  ASSERT_TRUE(store.insert(entry));
  EXPECT_EQ(store.lookup("a.com|/x|c|", any), entry);
  EXPECT_EQ(store.lookup("a.com|/y|c|", any), nullptr);
  EXPECT_EQ(store.stats().entries, 1u);
  EXPECT_EQ(store.stats().inserts, 1u);
}

TEST(MemoryStore, LookupReturnsTheVariantTheMatcherAccepts) {
  MemoryStore store(kRoomy, 4);
  EntryPtr gzip = makeEntry("k", {}, {{"accept-encoding", "gzip"}});
  EntryPtr br = makeEntry("k", {}, {{"accept-encoding", "br"}});
  ASSERT_TRUE(store.insert(gzip));
  ASSERT_TRUE(store.insert(br));
  EXPECT_EQ(store.lookup("k", varyIs("accept-encoding", "br")), br);
  EXPECT_EQ(store.lookup("k", varyIs("accept-encoding", "gzip")), gzip);
  EXPECT_EQ(store.lookup("k", varyIs("accept-encoding", "zstd")), nullptr);
  EXPECT_EQ(store.stats().entries, 2u);
}

TEST(MemoryStore, InsertWithEqualVaryValuesReplacesThatVariant) {
  MemoryStore store(kRoomy, 2);
  ASSERT_TRUE(store.insert(makeEntry("k", {}, {{"accept-encoding", "br"}})));
  EntryPtr other = makeEntry("k", {}, {{"accept-encoding", "gzip"}});
  ASSERT_TRUE(store.insert(other));
  EntryPtr fresh = makeEntry("k", {}, {{"accept-encoding", "br"}}, 300);
  ASSERT_TRUE(store.insert(fresh));
  EXPECT_EQ(store.lookup("k", varyIs("accept-encoding", "br")), fresh);
  EXPECT_EQ(store.lookup("k", varyIs("accept-encoding", "gzip")), other);
  EXPECT_EQ(store.stats().entries, 2u);
  EXPECT_EQ(store.stats().bytes, fresh->charge() + other->charge());
}

TEST(MemoryStore, BytesEqualTheSumOfChargeOfEveryStoredEntry) {
  MemoryStore store(kRoomy, 4);
  uint64_t expected = 0;
  for (int i = 0; i < 50; ++i) {
    EntryPtr entry = makeEntry("key-" + std::to_string(i), {"t" + std::to_string(i % 3)}, {},
                               static_cast<size_t>(10 * i));
    expected += entry->charge();
    ASSERT_TRUE(store.insert(entry));
  }
  EXPECT_EQ(store.stats().bytes, expected);
  expected -= store.lookup("key-7", any)->charge();
  EXPECT_EQ(store.purgeKey("key-7", PurgeMode::Hard), 1u);
  EXPECT_EQ(store.stats().bytes, expected);
}

TEST(MemoryStore, AFloodOfUniqueKeysNeverPushesBytesOverTheBudget) {
  const uint64_t budget = 40 * makeEntry("flood-00000")->charge();
  MemoryStore store(budget, 4);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_TRUE(store.insert(makeEntry("flood-" + std::to_string(10000 + i), {}, {},
                                       static_cast<size_t>(50 + i % 150))));
    ASSERT_LE(store.stats().bytes, budget);
  }
  const StoreStats stats = store.stats();
  EXPECT_GT(stats.evictions, 0u);
  EXPECT_EQ(stats.inserts, 2000u);
  EXPECT_EQ(stats.entries, stats.inserts - stats.evictions);
}

// A gzip form of a few hundred bytes left in the 16 KB buffer it was made in holds 16 KB: the
// store counts it so, and keeps fewer such entries in the same budget.
TEST(MemoryStore, AnEncodedFormInARoomyBufferTakesItsRoomFromTheBudget) {
  auto withForm = [](std::string key, size_t capacity) {
    std::shared_ptr<CachedEntry> entry = makeEntry(std::move(key));
    std::string compressed(400, 'z');
    compressed.reserve(capacity);
    auto form = std::make_shared<CachedEntry::Encoded>();
    form->body = std::make_shared<const std::string>(std::move(compressed));
    entry->encoded[0] = form;
    return entry;
  };
  const uint64_t budget = 64 * withForm("tight", 400)->charge();
  MemoryStore tight(budget, 1);
  MemoryStore roomy(budget, 1);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(tight.insert(withForm("t" + std::to_string(i), 400)));
    ASSERT_TRUE(roomy.insert(withForm("r" + std::to_string(i), 16 * 1024)));
  }
  EXPECT_EQ(tight.stats().entries, 64u);
  EXPECT_LT(roomy.stats().entries, 64u / 8);
  EXPECT_LE(roomy.stats().bytes, budget);
}

TEST(MemoryStore, VisitedEntriesSurviveEvictionWhileUnvisitedOnesGo) {
  const uint64_t one = makeEntry("k1")->charge();
  MemoryStore store(4 * one, 1);
  for (const char* key : {"k1", "k2", "k3", "k4"}) {
    ASSERT_TRUE(store.insert(makeEntry(key)));
  }
  ASSERT_NE(store.lookup("k1", any), nullptr);
  ASSERT_NE(store.lookup("k3", any), nullptr);
  // The hand starts at the oldest: k1 was visited and is spared, k2 goes.
  ASSERT_TRUE(store.insert(makeEntry("k5")));
  EXPECT_EQ(store.lookup("k2", any), nullptr);
  // It moves on from where it stopped: k3 is spared, k4 goes; newcomers are never taken.
  ASSERT_TRUE(store.insert(makeEntry("k6")));
  EXPECT_EQ(store.lookup("k4", any), nullptr);
  for (const char* key : {"k1", "k3", "k5", "k6"}) {
    EXPECT_NE(store.lookup(key, any), nullptr) << key;
  }
  EXPECT_EQ(store.stats().evictions, 2u);
}

TEST(MemoryStore, EntryLargerThanAShardBudgetIsRejectedAndNothingIsEvicted) {
  const uint64_t one = makeEntry("small")->charge();
  MemoryStore store(2 * (one + 100), 2);  // each shard holds about one small entry
  ASSERT_TRUE(store.insert(makeEntry("small")));
  EXPECT_FALSE(store.insert(makeEntry("large", {"t"}, {}, 1000)));
  EXPECT_EQ(store.lookup("large", any), nullptr);
  EXPECT_NE(store.lookup("small", any), nullptr);
  EXPECT_EQ(store.purgeTag("t", PurgeMode::Hard), 0u);
  const StoreStats stats = store.stats();
  EXPECT_EQ(stats.rejected, 1u);
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.evictions, 0u);
}

TEST(MemoryStore, VariantsOutgrowingTheShardLeaveOnlyTheNewestOne) {
  const uint64_t one = makeEntry("k", {}, {{"lang", "en"}}, 1000)->charge();
  MemoryStore store(one + one / 2, 1);
  ASSERT_TRUE(store.insert(makeEntry("k", {}, {{"lang", "en"}}, 1000)));
  EntryPtr newest = makeEntry("k", {}, {{"lang", "de"}}, 1000);
  ASSERT_TRUE(store.insert(newest));
  EXPECT_EQ(store.lookup("k", varyIs("lang", "en")), nullptr);
  EXPECT_EQ(store.lookup("k", varyIs("lang", "de")), newest);
  EXPECT_EQ(store.stats().bytes, newest->charge());
}

TEST(MemoryStore, ReadersKeepAValidEntryAfterEvictionAndPurge) {
  const uint64_t one = makeEntry("held-1")->charge();
  MemoryStore store(2 * one, 1);
  // Held from the insert: a lookup would mark it visited and SIEVE would keep it.
  EntryPtr evicted = makeEntry("held-1");
  ASSERT_TRUE(store.insert(evicted));
  ASSERT_TRUE(store.insert(makeEntry("held-2")));
  EntryPtr purged = store.lookup("held-2", any);
  EXPECT_EQ(store.purgeKey("held-2", PurgeMode::Hard), 1u);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(store.insert(makeEntry("other" + std::to_string(i))));
  }
  EXPECT_EQ(store.lookup("held-1", any), nullptr);
  EXPECT_EQ(store.lookup("held-2", any), nullptr);
  EXPECT_EQ(evicted->key, "held-1");
  EXPECT_EQ(*evicted->body, std::string(100, 'b'));
  EXPECT_EQ(purged->key, "held-2");
  EXPECT_EQ(purged->body->size(), 100u);
}

TEST(MemoryStore, HardPurgeOfAKeyRemovesEveryVariant) {
  MemoryStore store(kRoomy, 4);
  ASSERT_TRUE(store.insert(makeEntry("k", {"t"}, {{"lang", "en"}})));
  ASSERT_TRUE(store.insert(makeEntry("k", {"t"}, {{"lang", "de"}})));
  ASSERT_TRUE(store.insert(makeEntry("other", {"t"})));
  EXPECT_EQ(store.purgeKey("k", PurgeMode::Hard), 2u);
  EXPECT_EQ(store.lookup("k", any), nullptr);
  EXPECT_EQ(store.purgeKey("k", PurgeMode::Hard), 0u);
  EXPECT_EQ(store.purgeTag("t", PurgeMode::Hard), 1u);  // the index forgot the purged key
  EXPECT_EQ(store.stats().purged, 3u);
  EXPECT_EQ(store.stats().bytes, 0u);
}

TEST(MemoryStore, SoftPurgeOfAKeyMarksEveryVariantInvalidatedAndKeepsThem) {
  MemoryStore store(kRoomy, 4);
  EntryPtr en = makeEntry("k", {}, {{"lang", "en"}});
  EntryPtr de = makeEntry("k", {}, {{"lang", "de"}});
  ASSERT_TRUE(store.insert(en));
  ASSERT_TRUE(store.insert(de));
  EXPECT_EQ(store.purgeKey("k", PurgeMode::Soft), 2u);
  EXPECT_EQ(store.lookup("k", varyIs("lang", "en")), en);
  EXPECT_TRUE(en->invalidated.load());
  EXPECT_TRUE(de->invalidated.load());
  EXPECT_EQ(store.stats().entries, 2u);
  EXPECT_EQ(store.stats().purged, 2u);
}

TEST(MemoryStore, HardPurgeOfATagRemovesOnlyTheVariantsCarryingIt) {
  MemoryStore store(kRoomy, 4);
  ASSERT_TRUE(store.insert(makeEntry("k", {"org:1"}, {{"lang", "en"}})));
  EntryPtr kept = makeEntry("k", {"org:2"}, {{"lang", "de"}});
  ASSERT_TRUE(store.insert(kept));
  ASSERT_TRUE(store.insert(makeEntry("a", {"org:1", "x"})));
  ASSERT_TRUE(store.insert(makeEntry("b", {"x"})));
  EXPECT_EQ(store.purgeTag("org:1", PurgeMode::Hard), 2u);
  EXPECT_EQ(store.lookup("k", varyIs("lang", "en")), nullptr);
  EXPECT_EQ(store.lookup("k", varyIs("lang", "de")), kept);
  EXPECT_EQ(store.lookup("a", any), nullptr);
  EXPECT_NE(store.lookup("b", any), nullptr);
  EXPECT_EQ(store.purgeTag("org:1", PurgeMode::Hard), 0u);
  EXPECT_EQ(store.purgeTag("x", PurgeMode::Hard), 1u);
  EXPECT_EQ(store.stats().bytes, kept->charge());
}

TEST(MemoryStore, SoftPurgeOfATagInvalidatesOnlyEntriesCarryingIt) {
  MemoryStore store(kRoomy, 4);
  EntryPtr tagged = makeEntry("a", {"wo:7"});
  EntryPtr untagged = makeEntry("b", {"wo:8"});
  ASSERT_TRUE(store.insert(tagged));
  ASSERT_TRUE(store.insert(untagged));
  EXPECT_EQ(store.purgeTag("wo:7", PurgeMode::Soft), 1u);
  EXPECT_EQ(store.lookup("a", any), tagged);
  EXPECT_TRUE(tagged->invalidated.load());
  EXPECT_FALSE(untagged->invalidated.load());
}

TEST(MemoryStore, ReplacingAVariantDropsItsOldTagsFromTheIndex) {
  MemoryStore store(kRoomy, 1);
  ASSERT_TRUE(store.insert(makeEntry("k", {"old"})));
  ASSERT_TRUE(store.insert(makeEntry("k", {"new"})));
  EXPECT_EQ(store.purgeTag("old", PurgeMode::Hard), 0u);
  EXPECT_EQ(store.purgeGlob("ol*", PurgeMode::Hard), 0u);
  EXPECT_EQ(store.purgeTag("new", PurgeMode::Hard), 1u);
}

TEST(MemoryStore, EvictedEntriesAreNoLongerFoundByTagOrGlob) {
  const uint64_t one = makeEntry("e1", {"t"})->charge();
  MemoryStore store(2 * one, 1);
  for (const char* key : {"e1", "e2", "e3", "e4"}) {
    ASSERT_TRUE(store.insert(makeEntry(key, {"t"})));
  }
  EXPECT_EQ(store.stats().evictions, 2u);
  EXPECT_EQ(store.purgeGlob("e*", PurgeMode::Soft), 2u);
  EXPECT_EQ(store.purgeTag("t", PurgeMode::Hard), 2u);
  EXPECT_EQ(store.stats().entries, 0u);
}

TEST(MemoryStore, GlobOverTagsPurgesEveryEntryWithAMatchingTag) {
  MemoryStore store(kRoomy, 4);
  ASSERT_TRUE(store.insert(makeEntry("k1", {"org:42:wo:list:1"})));
  ASSERT_TRUE(store.insert(makeEntry("k2", {"org:42:asset:list:9", "misc"})));
  ASSERT_TRUE(store.insert(makeEntry("k3", {"org:42:wo:item:1"})));
  ASSERT_TRUE(store.insert(makeEntry("k4", {"org:43:wo:list:1"})));
  ASSERT_TRUE(store.insert(makeEntry("k5", {"org:420:wo:list:1"})));
  EXPECT_EQ(store.purgeGlob("org:42:*:list:*", PurgeMode::Hard), 2u);
  EXPECT_EQ(store.lookup("k1", any), nullptr);
  EXPECT_EQ(store.lookup("k2", any), nullptr);
  for (const char* key : {"k3", "k4", "k5"}) {
    EXPECT_NE(store.lookup(key, any), nullptr) << key;
  }
  EXPECT_EQ(store.purgeTag("misc", PurgeMode::Hard), 0u);
  EXPECT_EQ(store.stats().purged, 2u);
}

TEST(MemoryStore, GlobOverKeysPurgesEveryMatchingKey) {
  MemoryStore store(kRoomy, 4);
  ASSERT_TRUE(store.insert(makeEntry("api.test|/v1/orgs/42/wo?a=1|c|")));
  ASSERT_TRUE(store.insert(makeEntry("api.test|/v1/orgs/42/wo?a=2|c|", {}, {{"lang", "de"}})));
  ASSERT_TRUE(store.insert(makeEntry("api.test|/v1/orgs/42/wo?a=2|c|", {}, {{"lang", "en"}})));
  ASSERT_TRUE(store.insert(makeEntry("api.test|/v1/orgs/43/wo?a=1|c|")));
  ASSERT_TRUE(store.insert(makeEntry("www.test|/v1/orgs/42/wo?a=1|c|")));
  EXPECT_EQ(store.purgeGlob("api.test|/v1/orgs/42/*", PurgeMode::Hard), 3u);
  EXPECT_EQ(store.lookup("api.test|/v1/orgs/42/wo?a=1|c|", any), nullptr);
  EXPECT_EQ(store.lookup("api.test|/v1/orgs/42/wo?a=2|c|", any), nullptr);
  EXPECT_NE(store.lookup("api.test|/v1/orgs/43/wo?a=1|c|", any), nullptr);
  EXPECT_NE(store.lookup("www.test|/v1/orgs/42/wo?a=1|c|", any), nullptr);
}

TEST(MemoryStore, GlobWithEscapedMetacharactersMatchesThemLiterally) {
  MemoryStore store(kRoomy, 2);
  ASSERT_TRUE(store.insert(makeEntry("a.test|/x?a=1|c|")));
  ASSERT_TRUE(store.insert(makeEntry("a.test|/x/a=1|c|")));
  EXPECT_EQ(store.purgeGlob("a.test|/x\\?a=1|*", PurgeMode::Hard), 1u);
  EXPECT_EQ(store.lookup("a.test|/x?a=1|c|", any), nullptr);
  EXPECT_NE(store.lookup("a.test|/x/a=1|c|", any), nullptr);
}

TEST(MemoryStore, SoftGlobPurgeInvalidatesMatchesAndKeepsThem) {
  MemoryStore store(kRoomy, 4);
  EntryPtr match = makeEntry("k1", {"org:42:wo:list:1"});
  EntryPtr other = makeEntry("k2", {"org:42:wo:item:1"});
  ASSERT_TRUE(store.insert(match));
  ASSERT_TRUE(store.insert(other));
  EXPECT_EQ(store.purgeGlob("org:42:*:list:*", PurgeMode::Soft), 1u);
  EXPECT_EQ(store.lookup("k1", any), match);
  EXPECT_TRUE(match->invalidated.load());
  EXPECT_FALSE(other->invalidated.load());
}

TEST(MemoryStore, GlobWithoutALiteralPrefixStillMatchesEverywhere) {
  MemoryStore store(kRoomy, 4);
  ASSERT_TRUE(store.insert(makeEntry("a.test|/list|c|", {"org:1:wo"})));
  ASSERT_TRUE(store.insert(makeEntry("b.test|/item|c|", {"org:2:wo:list"})));
  ASSERT_TRUE(store.insert(makeEntry("c.test|/item|c|", {"org:3:wo"})));
  EXPECT_EQ(store.purgeGlob("*list*", PurgeMode::Hard), 2u);
  EXPECT_EQ(store.purgeGlob("?.test|*", PurgeMode::Soft), 1u);
  EXPECT_EQ(store.purgeGlob("[c]*", PurgeMode::Hard), 1u);
  EXPECT_EQ(store.stats().entries, 0u);
}

TEST(MemoryStore, GlobMatchingBothKeyAndTagCountsTheEntryOnce) {
  MemoryStore store(kRoomy, 1);
  ASSERT_TRUE(store.insert(makeEntry("list:1", {"list:a", "list:b"})));
  EXPECT_EQ(store.purgeGlob("list:*", PurgeMode::Hard), 1u);
  EXPECT_EQ(store.stats().purged, 1u);
  EXPECT_EQ(store.stats().entries, 0u);
}

TEST(MemoryStore, HardPurgeAllEmptiesEveryShardAndAcceptsNewEntries) {
  MemoryStore store(kRoomy, 4);
  EntryPtr held = makeEntry("k0", {"t"});
  ASSERT_TRUE(store.insert(held));
  for (int i = 1; i < 20; ++i) {
    ASSERT_TRUE(store.insert(makeEntry("k" + std::to_string(i), {"t"})));
  }
  EXPECT_EQ(store.purgeAll(PurgeMode::Hard), 20u);
  EXPECT_EQ(store.stats().entries, 0u);
  EXPECT_EQ(store.stats().bytes, 0u);
  EXPECT_EQ(store.purgeTag("t", PurgeMode::Hard), 0u);
  EXPECT_EQ(held->key, "k0");
  ASSERT_TRUE(store.insert(makeEntry("k1")));
  EXPECT_NE(store.lookup("k1", any), nullptr);
}

TEST(MemoryStore, SoftPurgeAllInvalidatesEverythingAndKeepsIt) {
  MemoryStore store(kRoomy, 4);
  std::vector<EntryPtr> entries;
  for (int i = 0; i < 10; ++i) {
    entries.push_back(makeEntry("k" + std::to_string(i)));
    ASSERT_TRUE(store.insert(entries.back()));
  }
  EXPECT_EQ(store.purgeAll(PurgeMode::Soft), 10u);
  for (const EntryPtr& entry : entries) {
    EXPECT_EQ(store.lookup(entry->key, any), entry);
    EXPECT_TRUE(entry->invalidated.load());  // marked as it is seen, not by a walk
  }
}

// Mixed traffic from several threads; the sanitizer builds are what make this meaningful.
void mixedTraffic(MemoryStore& store, uint64_t budget, unsigned seed, std::atomic<bool>& over) {
  std::mt19937 rng(seed);
  for (int i = 0; i < 5000; ++i) {
    const std::string key = "k" + std::to_string(rng() % 200);
    const std::string tag = "org:" + std::to_string(rng() % 10);
    const unsigned op = rng() % 100;
    if (op < 55) {
      EntryPtr entry = store.lookup(key, any);
      if (entry != nullptr && (entry->body->size() != 100 || entry->key != key)) {
        over = true;
      }
    } else if (op < 85) {
      store.insert(makeEntry(key, {tag, "all"}, {{"lang", std::to_string(rng() % 2)}}));
    } else if (op < 90) {
      store.purgeKey(key, op % 2 == 0 ? PurgeMode::Hard : PurgeMode::Soft);
    } else if (op < 95) {
      store.purgeTag(tag, op % 2 == 0 ? PurgeMode::Hard : PurgeMode::Soft);
    } else if (op < 98) {
      store.purgeGlob(tag + "*", PurgeMode::Hard);
    } else if (store.stats().bytes > budget) {
      over = true;
    }
  }
}

TEST(MemoryStore, ConcurrentMixedOperationsKeepTheAccountingConsistent) {
  const uint64_t budget = 60 * makeEntry("k100", {"org:1", "all"}, {{"lang", "0"}})->charge();
  MemoryStore store(budget, 4);
  std::atomic<bool> broken{false};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] { mixedTraffic(store, budget, 1000 + t, broken); });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_FALSE(broken.load());
  const StoreStats stats = store.stats();
  EXPECT_LE(stats.bytes, budget);
  EXPECT_EQ(store.purgeTag("all", PurgeMode::Soft), stats.entries);
  EXPECT_EQ(store.purgeAll(PurgeMode::Hard), stats.entries);
  EXPECT_EQ(store.stats().bytes, 0u);
}

}  // namespace
}  // namespace edge::cache
