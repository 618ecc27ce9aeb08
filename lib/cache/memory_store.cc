#include "lib/cache/memory_store.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <unordered_map>

namespace edge::cache {

namespace {

struct Variant {
  EntryPtr entry;
  uint64_t charge = 0;      // as counted on insert, so the accounting can never drift
  uint64_t generation = 0;  // the purge generation its request started in (see purge_log.h)
};

// One key: its variants (usually one) and its place in the shard's SIEVE queue.
struct Node {
  std::string key;
  std::vector<Variant> variants;
  uint64_t bytes = 0;
  // Set by lookups, which hold the shard lock shared; cleared by the hand, which holds it alone.
  std::atomic<bool> visited{false};
  Node* newer = nullptr;  // towards the head
  Node* older = nullptr;  // towards the tail
};

// Keys are views of Node::key: a node owns its key and outlives its index entries.
using NodeMap = std::unordered_map<std::string_view, std::unique_ptr<Node>>;

// What a purge takes out of a shard, freed only after the shard lock is released: freeing a
// thousand entries is most of a purge's cost, and lookups need not wait for it.
struct Graveyard {
  std::vector<EntryPtr> entries;
  std::vector<std::unique_ptr<Node>> nodes;
};

// Everything a glob can match starts with the characters before its first metacharacter.
// A backslash ends the prefix too: keeping it simple costs a slightly wider scan, not a miss.
std::string_view literalPrefix(std::string_view pattern) {
  return pattern.substr(0, std::min(pattern.find_first_of("*?[\\"), pattern.size()));
}

bool anyEntry(const CachedEntry& /*entry*/) { return true; }

}  // namespace

// Every member is guarded by `mutex`. Lookups take it shared and only ever flip a visited bit;
// anything that changes the queue, the maps or the counters takes it exclusively.
struct MemoryStore::Shard {
  std::shared_mutex mutex;
  uint64_t budget = 0;
  uint64_t bytes = 0;
  uint64_t entries = 0;
  uint64_t inserts = 0;
  uint64_t evictions = 0;
  uint64_t purged = 0;
  uint64_t rejected = 0;

  NodeMap nodes;
  std::map<std::string_view, Node*> ordered_keys;  // for prefix scans by key globs
  std::map<std::string, std::set<Node*>, std::less<>> tags;  // to nodes with a variant carrying it

  Node* head = nullptr;  // newest
  Node* tail = nullptr;  // oldest
  Node* hand = nullptr;  // next eviction candidate; null means start again at the tail
  Graveyard* graveyard = nullptr;  // set while a purge runs: removed things go there

  Node* find(std::string_view key) const {
    auto it = nodes.find(key);
    return it == nodes.end() ? nullptr : it->second.get();
  }

  void store(EntryPtr entry, uint64_t charge, uint64_t generation);
  const Variant* storedCopyOf(const CachedEntry& entry, uint64_t generation) const;
  Node& nodeFor(const std::string& key);
  void keepOnly(Node& node, size_t index);
  void evictUntilFits(const Node& keep);
  Node* nextVictim(const Node& keep);
  void remove(Node& node);
  void indexTags(Node& node);
  void unindexTags(Node& node);
  template <class Pick>
  size_t purge(Node& node, PurgeMode mode, const Pick& pick);
  size_t purgeGlob(const std::string& pattern, PurgeMode mode);
  size_t purgeAll(PurgeMode mode, NodeMap& out);
};

void MemoryStore::Shard::store(EntryPtr entry, uint64_t charge, uint64_t generation) {
  Node& node = nodeFor(entry->key);
  unindexTags(node);
  auto same = std::find_if(node.variants.begin(), node.variants.end(), [&](const Variant& v) {
    return v.entry->vary_values == entry->vary_values;
  });
  if (same == node.variants.end()) {
    same = node.variants.insert(same, Variant{std::move(entry), 0});
    ++entries;
  } else {
    same->entry = std::move(entry);
  }
  node.bytes = node.bytes - same->charge + charge;
  bytes = bytes - same->charge + charge;
  same->charge = charge;
  same->generation = generation;
  ++inserts;
  // The other variants of a key never push out the newest one: they go first.
  if (node.bytes > budget) {
    keepOnly(node, static_cast<size_t>(same - node.variants.begin()));
  }
  indexTags(node);
  evictUntilFits(node);
}

// The stored variant that `entry` is a copy of (the same response from the same fetch, e.g.
// with an encoded form added), or null.
const Variant* MemoryStore::Shard::storedCopyOf(const CachedEntry& entry,
                                                uint64_t generation) const {
  const Node* node = find(entry.key);
  if (node == nullptr) {
    return nullptr;
  }
  for (const Variant& v : node->variants) {
    if (v.generation == generation && v.entry->body == entry.body &&
        v.entry->vary_values == entry.vary_values) {
      return &v;
    }
  }
  return nullptr;
}

// The node of `key`, created at the head of the queue (unvisited) when absent.
Node& MemoryStore::Shard::nodeFor(const std::string& key) {
  if (Node* existing = find(key)) {
    return *existing;
  }
  auto owned = std::make_unique<Node>();
  Node* node = owned.get();
  node->key = key;
  nodes.emplace(node->key, std::move(owned));
  ordered_keys.emplace(node->key, node);
  node->older = head;
  if (head != nullptr) {
    head->newer = node;
  }
  head = node;
  if (tail == nullptr) {
    tail = node;
  }
  return *node;
}

void MemoryStore::Shard::keepOnly(Node& node, size_t index) {
  Variant kept = std::move(node.variants[index]);
  evictions += node.variants.size() - 1;
  entries -= node.variants.size() - 1;
  bytes -= node.bytes - kept.charge;
  node.bytes = kept.charge;
  node.variants.clear();
  node.variants.push_back(std::move(kept));
}

void MemoryStore::Shard::evictUntilFits(const Node& keep) {
  while (bytes > budget) {
    Node* victim = nextVictim(keep);
    evictions += victim->variants.size();
    remove(*victim);
  }
}

// SIEVE: the hand walks from old to new and wraps around; a visited node loses its bit and is
// passed over, the first unvisited one goes. `keep` fits the budget on its own, so while the
// shard is over budget some other node exists and a second lap at the latest finds it.
Node* MemoryStore::Shard::nextVictim(const Node& keep) {
  for (;;) {
    Node* candidate = hand != nullptr ? hand : tail;
    hand = candidate->newer;
    if (candidate == &keep) {
      continue;
    }
    if (!candidate->visited.load(std::memory_order_relaxed)) {
      return candidate;
    }
    candidate->visited.store(false, std::memory_order_relaxed);
  }
}

// Unlinks and destroys `node`; readers holding its entries keep them alive.
void MemoryStore::Shard::remove(Node& node) {
  if (hand == &node) {
    hand = node.newer;
  }
  (node.newer != nullptr ? node.newer->older : head) = node.older;
  (node.older != nullptr ? node.older->newer : tail) = node.newer;
  unindexTags(node);
  bytes -= node.bytes;
  entries -= node.variants.size();
  ordered_keys.erase(node.key);
  auto it = nodes.find(node.key);
  if (graveyard != nullptr) {
    graveyard->nodes.push_back(std::move(it->second));
  }
  nodes.erase(it);
}

void MemoryStore::Shard::indexTags(Node& node) {
  for (const Variant& v : node.variants) {
    for (const std::string& tag : v.entry->tags) {
      tags.try_emplace(tag).first->second.insert(&node);
    }
  }
}

void MemoryStore::Shard::unindexTags(Node& node) {
  for (const Variant& v : node.variants) {
    for (const std::string& tag : v.entry->tags) {
      auto it = tags.find(tag);
      if (it == tags.end()) {
        continue;  // a tag repeated across variants, already gone
      }
      it->second.erase(&node);
      if (it->second.empty()) {
        tags.erase(it);
      }
    }
  }
}

// Removes (Hard) or invalidates (Soft) the variants of `node` that `pick` selects.
template <class Pick>
size_t MemoryStore::Shard::purge(Node& node, PurgeMode mode, const Pick& pick) {
  size_t count = 0;
  if (mode == PurgeMode::Soft) {
    for (const Variant& v : node.variants) {
      if (pick(*v.entry)) {
        v.entry->invalidated.store(true, std::memory_order_relaxed);
        ++count;
      }
    }
    purged += count;
    return count;
  }
  unindexTags(node);
  auto gone = std::stable_partition(node.variants.begin(), node.variants.end(),
                                    [&](const Variant& v) { return !pick(*v.entry); });
  for (auto it = gone; it != node.variants.end(); ++it) {
    node.bytes -= it->charge;
    bytes -= it->charge;
    ++count;
    if (graveyard != nullptr) {
      graveyard->entries.push_back(std::move(it->entry));
    }
  }
  node.variants.erase(gone, node.variants.end());
  entries -= count;
  purged += count;
  indexTags(node);
  if (node.variants.empty()) {
    remove(node);
  }
  return count;
}

// Collects the nodes first (a key match takes all variants, a tag match those carrying a
// matching tag), since hard purges change the indexes being scanned.
size_t MemoryStore::Shard::purgeGlob(const std::string& pattern, PurgeMode mode) {
  const std::string_view prefix = literalPrefix(pattern);
  std::unordered_map<Node*, bool> whole;
  for (auto it = ordered_keys.lower_bound(prefix);
       it != ordered_keys.end() && it->first.starts_with(prefix); ++it) {
    if (globMatches(pattern, it->second->key)) {
      whole[it->second] = true;
    }
  }
  for (auto it = tags.lower_bound(prefix); it != tags.end() && it->first.starts_with(prefix);
       ++it) {
    if (globMatches(pattern, it->first)) {
      for (Node* node : it->second) {
        whole.try_emplace(node, false);
      }
    }
  }
  size_t count = 0;
  for (const auto& [node, all] : whole) {
    if (all) {
      count += purge(*node, mode, anyEntry);
    } else {
      count += purge(*node, mode, [&](const CachedEntry& e) { return anyTagMatches(e, pattern); });
    }
  }
  return count;
}

// A hard purge hands the nodes to `out`, so that the caller frees them after unlocking.
size_t MemoryStore::Shard::purgeAll(PurgeMode mode, NodeMap& out) {
  const size_t count = entries;
  purged += count;
  if (mode == PurgeMode::Soft) {
    return count;  // the store's epoch did it
  }
  ordered_keys.clear();
  tags.clear();
  out.swap(nodes);
  head = tail = hand = nullptr;
  bytes = 0;
  entries = 0;
  return count;
}

MemoryStore::MemoryStore(uint64_t budget_bytes, unsigned shards) : budget_(budget_bytes) {
  const unsigned count = std::max(shards, 1u);
  for (unsigned i = 0; i < count; ++i) {
    shards_.push_back(std::make_unique<Shard>());
    shards_.back()->budget = budget_bytes / count;
  }
}

MemoryStore::~MemoryStore() = default;

MemoryStore::Shard& MemoryStore::shardFor(std::string_view key) {
  return *shards_[std::hash<std::string_view>{}(key) % shards_.size()];
}

// A soft purge of everything invalidates lazily: each entry as it is next seen.
bool MemoryStore::purgedSince(const CachedEntry& probe, uint64_t stamp) const {
  return stamp < soft_epoch_.load(std::memory_order_relaxed) ||
         log_.check(probe, stamp) != PurgeLog::Verdict::Keep;
}

void MemoryStore::markIfBeforeEpoch(const EntryPtr& entry, uint64_t stamp) const {
  if (stamp < soft_epoch_.load(std::memory_order_relaxed)) {
    entry->invalidated.store(true, std::memory_order_relaxed);
  }
}

EntryPtr MemoryStore::lookup(std::string_view key,
                             const std::function<bool(const CachedEntry&)>& matches) {
  Shard& shard = shardFor(key);
  std::shared_lock lock(shard.mutex);
  Node* node = shard.find(key);
  if (node == nullptr) {
    return nullptr;
  }
  for (const Variant& v : node->variants) {
    markIfBeforeEpoch(v.entry, v.generation);
    if (!matches || matches(*v.entry)) {
      // Check first: a hit on a popular key then only reads the shared cache line.
      if (!node->visited.load(std::memory_order_relaxed)) {
        node->visited.store(true, std::memory_order_relaxed);
      }
      return v.entry;
    }
  }
  return nullptr;
}

std::vector<EntryPtr> MemoryStore::peek(std::string_view key) {
  Shard& shard = shardFor(key);
  std::shared_lock lock(shard.mutex);
  std::vector<EntryPtr> out;
  if (const Node* node = shard.find(key)) {
    for (const Variant& v : node->variants) {
      markIfBeforeEpoch(v.entry, v.generation);
      out.push_back(v.entry);
    }
  }
  return out;
}

bool MemoryStore::insert(EntryPtr entry) {
  if (entry == nullptr) {
    return false;
  }
  const uint64_t charge = entry->charge();
  Shard& shard = shardFor(entry->key);
  std::unique_lock lock(shard.mutex);
  if (charge > shard.budget) {
    ++shard.rejected;
    return false;
  }
  // Under the shard lock: a purge recorded after this check finds the entry in the shard.
  const uint64_t stamp = entry->generation != 0 ? entry->generation : log_.generation();
  if (const Variant* original = shard.storedCopyOf(*entry, stamp)) {
    // A copy keeps what purges did to the original, which was checked when it was stored.
    if (original->entry->invalidated.load(std::memory_order_relaxed)) {
      entry->invalidated.store(true, std::memory_order_relaxed);
    }
  } else {
    switch (log_.check(*entry, stamp)) {
      case PurgeLog::Verdict::Keep:
        break;
      case PurgeLog::Verdict::Invalidate:
        entry->invalidated.store(true, std::memory_order_relaxed);
        break;
      case PurgeLog::Verdict::Drop:
        ++shard.purged;
        return false;
    }
  }
  shard.store(std::move(entry), charge, stamp);
  return true;
}

size_t MemoryStore::purgeKey(std::string_view key, PurgeMode mode) {
  log_.record(PurgeTarget::Key, key, mode);
  Shard& shard = shardFor(key);
  Graveyard dead;  // declared first: freed after the lock is released
  std::unique_lock lock(shard.mutex);
  shard.graveyard = &dead;
  Node* node = shard.find(key);
  const size_t count = node == nullptr ? 0 : shard.purge(*node, mode, anyEntry);
  shard.graveyard = nullptr;
  return count;
}

size_t MemoryStore::purgeTag(std::string_view tag, PurgeMode mode) {
  log_.record(PurgeTarget::Tag, tag, mode);
  size_t count = 0;
  for (const std::unique_ptr<Shard>& shard : shards_) {
    Graveyard dead;
    std::unique_lock lock(shard->mutex);
    auto it = shard->tags.find(tag);
    if (it == shard->tags.end()) {
      continue;
    }
    // Copied: a hard purge edits this very set.
    const std::vector<Node*> carriers(it->second.begin(), it->second.end());
    shard->graveyard = &dead;
    for (Node* node : carriers) {
      count += shard->purge(*node, mode, [&](const CachedEntry& e) { return hasTag(e, tag); });
    }
    shard->graveyard = nullptr;
  }
  return count;
}

size_t MemoryStore::purgeGlob(std::string_view pattern, PurgeMode mode) {
  const std::string terminated(pattern);  // fnmatch wants NUL-terminated strings
  log_.record(PurgeTarget::Glob, pattern, mode);
  size_t count = 0;
  for (const std::unique_ptr<Shard>& shard : shards_) {
    Graveyard dead;
    std::unique_lock lock(shard->mutex);
    shard->graveyard = &dead;
    count += shard->purgeGlob(terminated, mode);
    shard->graveyard = nullptr;
  }
  return count;
}

size_t MemoryStore::purgeAll(PurgeMode mode) {
  const uint64_t generation = log_.record(PurgeTarget::All, "", mode);
  if (mode == PurgeMode::Soft) {
    soft_epoch_.store(generation, std::memory_order_relaxed);  // published by the shard locks
  }
  size_t count = 0;
  for (const std::unique_ptr<Shard>& shard : shards_) {
    NodeMap dropped;  // declared first: its entries are freed after the lock is released
    std::unique_lock lock(shard->mutex);
    count += shard->purgeAll(mode, dropped);
  }
  return count;
}

size_t MemoryStore::removeIf(const std::function<bool(const CachedEntry&)>& doomed) {
  size_t count = 0;
  for (const std::unique_ptr<Shard>& shard : shards_) {
    Graveyard dead;  // declared first: freed after the lock is released
    std::unique_lock lock(shard->mutex);
    std::vector<Node*> carriers;
    for (const auto& [key, node] : shard->nodes) {
      if (std::any_of(node->variants.begin(), node->variants.end(),
                      [&](const Variant& v) { return doomed(*v.entry); })) {
        carriers.push_back(node.get());
      }
    }
    shard->graveyard = &dead;
    for (Node* node : carriers) {
      count += shard->purge(*node, PurgeMode::Hard, doomed);
    }
    shard->graveyard = nullptr;
  }
  return count;
}

StoreStats MemoryStore::stats() const {
  StoreStats total;
  total.budget = budget_;
  for (const std::unique_ptr<Shard>& shard : shards_) {
    std::shared_lock lock(shard->mutex);
    total.entries += shard->entries;
    total.bytes += shard->bytes;
    total.inserts += shard->inserts;
    total.evictions += shard->evictions;
    total.purged += shard->purged;
    total.rejected += shard->rejected;
  }
  return total;
}

}  // namespace edge::cache
