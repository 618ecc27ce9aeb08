// Purge cost in a store holding 1 million entries: a glob over tags that matches 1,000 of them
// (hard and soft), an exact tag, and the soft purge of everything the gap policy uses.
// Entries are tagged "org:<i / 1000>:wo:<i>", so "org:<n>:*" names exactly 1,000.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/cache/memory_store.h"

namespace {

using edge::cache::CachedEntry;
using edge::cache::EntryPtr;
using edge::cache::MemoryStore;
using edge::cache::PurgeMode;

constexpr int kEntries = 1'000'000;
constexpr int kPerOrg = 1'000;

std::shared_ptr<CachedEntry> entryFor(int i, const edge::cache::Body& body) {
  auto entry = std::make_shared<CachedEntry>();
  entry->key = "api.example.com|/api/v1/work-orders/" + std::to_string(i) + "|api_detail";
  entry->tags = {"org:" + std::to_string(i / kPerOrg) + ":wo:" + std::to_string(i)};
  entry->body = body;  // shared: the benchmark is about the indexes, not the bodies
  return entry;
}

// One store for every benchmark: filling a million entries takes seconds.
struct Fixture {
  Fixture() : store(64ull << 30, 16), body(std::make_shared<const std::string>(200, 'x')) {
    for (int i = 0; i < kEntries; ++i) {
      store.insert(entryFor(i, body));
    }
  }
  void refill(int org) {
    for (int i = org * kPerOrg; i < (org + 1) * kPerOrg; ++i) {
      store.insert(entryFor(i, body));
    }
  }
  MemoryStore store;
  edge::cache::Body body;
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void purgeGlob(benchmark::State& state, PurgeMode mode) {
  Fixture& f = fixture();
  int org = 0;
  size_t purged = 0;
  for (auto _ : state) {
    const std::string pattern = "org:" + std::to_string(org) + ":*";
    purged = f.store.purgeGlob(pattern, mode);
    state.PauseTiming();
    f.refill(org);
    org = (org + 1) % (kEntries / kPerOrg);
    state.ResumeTiming();
  }
  state.counters["purged"] = static_cast<double>(purged);
  state.counters["entries"] = static_cast<double>(f.store.stats().entries);
}

void BM_HardPurgeGlobMatching1000Of1M(benchmark::State& state) {
  purgeGlob(state, PurgeMode::Hard);
}
void BM_SoftPurgeGlobMatching1000Of1M(benchmark::State& state) {
  purgeGlob(state, PurgeMode::Soft);
}

void BM_HardPurgeOneTagOf1M(benchmark::State& state) {
  Fixture& f = fixture();
  int i = 0;
  for (auto _ : state) {
    const std::string tag = "org:" + std::to_string(i / kPerOrg) + ":wo:" + std::to_string(i);
    benchmark::DoNotOptimize(f.store.purgeTag(tag, PurgeMode::Hard));
    state.PauseTiming();
    f.store.insert(entryFor(i, f.body));
    i = (i + 7919) % kEntries;
    state.ResumeTiming();
  }
}

void BM_SoftPurgeAllOf1M(benchmark::State& state) {
  Fixture& f = fixture();
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.store.purgeAll(PurgeMode::Soft));
  }
}

}  // namespace

BENCHMARK(BM_HardPurgeGlobMatching1000Of1M)->Unit(benchmark::kMillisecond)->Iterations(200);
BENCHMARK(BM_SoftPurgeGlobMatching1000Of1M)->Unit(benchmark::kMillisecond)->Iterations(200);
BENCHMARK(BM_HardPurgeOneTagOf1M)->Unit(benchmark::kMicrosecond)->Iterations(20000);
BENCHMARK(BM_SoftPurgeAllOf1M)->Unit(benchmark::kMicrosecond);
