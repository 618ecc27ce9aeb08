#include "lib/metrics/name_slots.h"

#include <gtest/gtest.h>

#include <string>

namespace edge::metrics {
namespace {

TEST(NameSlotsTest, ANameKeepsItsSlotWhateverOrderClassesComeIn) {
  NameSlots slots;
  const Slot api = slots.slotFor("api");
  const Slot assets = slots.slotFor("assets");
  EXPECT_NE(api, assets);
  EXPECT_NE(api, NameSlots::kNone);
  EXPECT_NE(api, NameSlots::kOther);
  // A reload that lists the classes the other way round, and drops one, finds the same slots.
  EXPECT_EQ(slots.slotFor("assets"), assets);
  EXPECT_EQ(slots.slotFor("api"), api);
  const auto names = slots.names();
  EXPECT_EQ(names[NameSlots::kNone], "none");
  EXPECT_EQ(names[NameSlots::kOther], "other");
  EXPECT_EQ(names[api], "api");
  EXPECT_EQ(names[assets], "assets");
}

TEST(NameSlotsTest, NamesPastTheCapacityShareOther) {
  NameSlots slots;
  for (size_t i = 0; i + 2 < NameSlots::kCapacity; ++i) {
    EXPECT_NE(slots.slotFor("c" + std::to_string(i)), NameSlots::kOther);
  }
  EXPECT_EQ(slots.names().size(), NameSlots::kCapacity);
  EXPECT_EQ(slots.slotFor("one-too-many"), NameSlots::kOther);
  EXPECT_EQ(slots.slotFor("another"), NameSlots::kOther);
  EXPECT_EQ(slots.slotFor("c0"), 2u) << "names already known keep their slot";
  EXPECT_EQ(slots.names().size(), NameSlots::kCapacity);
}

}  // namespace
}  // namespace edge::metrics
