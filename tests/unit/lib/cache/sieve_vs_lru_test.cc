// The store's eviction against plain LRU on the same skewed trace. Deterministic: a fixed-seed
// Zipf(1.0) trace over equal-size objects, with room for 1% of the distinct keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <list>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/cache/memory_store.h"

namespace edge::cache {
namespace {

constexpr size_t kDistinctKeys = 50'000;
constexpr size_t kRequests = 500'000;
constexpr size_t kCapacity = kDistinctKeys / 100;
constexpr double kAlpha = 1.0;

// Object ranks drawn from Zipf(kAlpha) by inverting the CDF. The uniform draw is built from
// raw mt19937_64 bits so the trace is the same with every standard library.
std::vector<uint32_t> zipfTrace() {
  std::vector<double> cdf(kDistinctKeys);
  double sum = 0;
  for (size_t rank = 0; rank < kDistinctKeys; ++rank) {
    sum += 1.0 / std::pow(static_cast<double>(rank + 1), kAlpha);
    cdf[rank] = sum;
  }
  std::mt19937_64 rng(20240611);
  std::vector<uint32_t> trace(kRequests);
  for (uint32_t& request : trace) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * sum;
    const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
    request = static_cast<uint32_t>(std::min<size_t>(it - cdf.begin(), kDistinctKeys - 1));
  }
  return trace;
}

std::string keyOf(uint32_t object) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "obj-%06u", object);
  return buf;
}

EntryPtr makeObject(uint32_t object) {
  auto entry = std::make_shared<CachedEntry>();
  entry->key = keyOf(object);
  entry->body = std::make_shared<const std::string>(512, 'x');
  return entry;
}

double lruHitRatio(const std::vector<uint32_t>& trace) {
  std::list<uint32_t> order;  // front = most recently used
  std::unordered_map<uint32_t, std::list<uint32_t>::iterator> where;
  size_t hits = 0;
  for (uint32_t object : trace) {
    auto it = where.find(object);
    if (it != where.end()) {
      ++hits;
      order.splice(order.begin(), order, it->second);
      continue;
    }
    if (order.size() == kCapacity) {
      where.erase(order.back());
      order.pop_back();
    }
    order.push_front(object);
    where[object] = order.begin();
  }
  return static_cast<double>(hits) / static_cast<double>(trace.size());
}

double storeHitRatio(const std::vector<uint32_t>& trace) {
  MemoryStore store(kCapacity * makeObject(0)->charge(), 1);
  std::vector<std::string> keys(kDistinctKeys);
  std::vector<EntryPtr> objects(kDistinctKeys);
  const std::function<bool(const CachedEntry&)> any = [](const CachedEntry&) { return true; };
  size_t hits = 0;
  for (uint32_t object : trace) {
    if (keys[object].empty()) {
      keys[object] = keyOf(object);
      objects[object] = makeObject(object);
    }
    if (store.lookup(keys[object], any) != nullptr) {
      ++hits;
    } else {
      store.insert(objects[object]);
    }
  }
  EXPECT_EQ(store.stats().entries, kCapacity);
  return static_cast<double>(hits) / static_cast<double>(trace.size());
}

TEST(SieveVsLru, SieveHitsMoreOftenThanLruOnAZipfTrace) {
  ASSERT_EQ(makeObject(0)->charge(), makeObject(kDistinctKeys - 1)->charge());
  const std::vector<uint32_t> trace = zipfTrace();
  const double lru = lruHitRatio(trace);
  const double sieve = storeHitRatio(trace);
  std::cout << "Zipf(" << kAlpha << "), " << kDistinctKeys << " keys, " << kRequests
            << " requests, room for " << kCapacity << ": SIEVE hit ratio " << sieve
            << ", LRU hit ratio " << lru << "\n";
  RecordProperty("sieve_hit_ratio", std::to_string(sieve));
  RecordProperty("lru_hit_ratio", std::to_string(lru));
  EXPECT_GT(sieve, lru);
}

}  // namespace
}  // namespace edge::cache
