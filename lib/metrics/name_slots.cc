#include "lib/metrics/name_slots.h"

namespace edge::metrics {

NameSlots::NameSlots() : names_{"none", "other"} {}

Slot NameSlots::slotFor(std::string_view name) {
  std::lock_guard lock(mutex_);
  for (size_t i = kOther + 1; i < names_.size(); ++i) {
    if (names_[i] == name) {
      return static_cast<Slot>(i);
    }
  }
  if (names_.size() >= kCapacity) {
    return kOther;
  }
  names_.emplace_back(name);
  return static_cast<Slot>(names_.size() - 1);
}

std::vector<std::string> NameSlots::names() const {
  std::lock_guard lock(mutex_);
  return names_;
}

NameSlots& NameSlots::classes() {
  static NameSlots slots;
  return slots;
}

NameSlots& NameSlots::upstreams() {
  static NameSlots slots;
  return slots;
}

}  // namespace edge::metrics
