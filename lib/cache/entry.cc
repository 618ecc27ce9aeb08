#include "lib/cache/entry.h"

#include <algorithm>
#include <bit>

namespace edge::cache {
namespace {

// What malloc really takes for a request of `n` bytes: glibc adds an 8-byte header, rounds
// to 16 and never hands out less than 32. Counting requested bytes undercounts small blocks.
constexpr size_t heapBlock(size_t n) { return std::max<size_t>(32, (n + 8 + 15) & ~size_t{15}); }

// A shared_ptr made by make_shared: the object and a 16-byte control block in one block.
template <class T>
constexpr size_t sharedBlock() {
  return heapBlock(sizeof(T) + 16);
}

// What a string holds on the heap: its capacity, not its size (a buffer grown in steps keeps
// the slack: a gzip form of 500 bytes can sit in a 16 KB buffer), nothing while it is inline.
size_t heapOf(const std::string& s) {
  static const size_t inline_capacity = std::string().capacity();
  return s.capacity() > inline_capacity ? heapBlock(s.capacity() + 1) : 0;
}

size_t heapOf(const Body& body) {
  return body ? sharedBlock<std::string>() + heapOf(*body) : 0;
}

// A vector's buffer. Headers hide their capacity: a list grown by push_back has at most the
// next power of two, so that is what it is charged.
template <class T>
size_t vectorBlock(size_t capacity) {
  return capacity == 0 ? 0 : heapBlock(capacity * sizeof(T));
}

// The store's bookkeeping for one key (see memory_store.cc): its node with its own copy of
// the key, the hash table slot and node, the ordered index node and the variant slot.
constexpr size_t kStoreBookkeeping = 96 + 64 + 64 + 32;
// One tag in the store's tag index: a map node with the set of its carriers, and a set node.
constexpr size_t kTagIndexEntry = 128 + 48;

}  // namespace

size_t CachedEntry::charge() const {
  size_t bytes = sharedBlock<CachedEntry>() + kStoreBookkeeping + 2 * heapOf(key) +
                 heapOf(reason) + heapOf(etag) + heapOf(last_modified) + heapOf(wire_headers) +
                 heapOf(route_class);
  bytes += vectorBlock<http::Header>(headers.empty() ? 0 : std::bit_ceil(headers.size()));
  for (const http::Header& header : headers) {
    bytes += heapOf(header.name) + heapOf(header.value);
  }
  bytes += heapOf(body);
  for (const auto& encoded_form : encoded) {
    if (encoded_form) {
      bytes += sharedBlock<Encoded>() + heapOf(encoded_form->body) +
               heapOf(encoded_form->wire_headers);
    }
  }
  bytes += vectorBlock<std::pair<std::string, std::string>>(vary_values.capacity());
  for (const auto& [name, value] : vary_values) {
    bytes += heapOf(name) + heapOf(value);
  }
  bytes += vectorBlock<std::string>(tags.capacity());
  for (const std::string& tag : tags) {
    bytes += kTagIndexEntry + 2 * heapOf(tag);  // the index keeps its own copy
  }
  return bytes;
}

}  // namespace edge::cache
