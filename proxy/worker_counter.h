// A counter with one writer (its worker's thread) and readers anywhere: the writer adds with a
// plain load and store, no locked read-modify-write; readers on other threads still see whole
// values.
#pragma once

#include <atomic>
#include <cstdint>

namespace edge {

using WorkerCounter = std::atomic<uint64_t>;

inline void addOnOwner(WorkerCounter& counter, uint64_t n) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace edge
