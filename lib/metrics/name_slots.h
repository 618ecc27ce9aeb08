// Small process-wide numbers for names (route classes, upstreams), so per-name counters keep
// their series when a reload adds, removes or reorders them: a Runtime maps its indexes to
// slots once, and the request path indexes arrays by slot. Bounded: names past the capacity
// share the "other" slot. Slots are never reused, so a slot means one name for the process's
// life.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace edge::metrics {

using Slot = uint16_t;

class NameSlots {
 public:
  static constexpr size_t kCapacity = 256;
  static constexpr Slot kNone = 0;   // e.g. a request that matched no route
  static constexpr Slot kOther = 1;  // names beyond the capacity

  NameSlots();

  // The slot of `name`, assigned on first sight. Any thread (config load and reload).
  Slot slotFor(std::string_view name);
  // Every assigned name, indexed by slot ("none", "other", then the names). Any thread.
  std::vector<std::string> names() const;

  // The process's registries.
  static NameSlots& classes();
  static NameSlots& upstreams();

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> names_;
};

}  // namespace edge::metrics
