#include "lib/invalidation/backoff.h"

#include <algorithm>

namespace edge::invalidation {

std::chrono::milliseconds backoffDelay(uint32_t attempt, std::chrono::milliseconds min,
                                       std::chrono::milliseconds max, double unit_random) {
  const int64_t floor = std::max<int64_t>(1, min.count());
  const int64_t ceiling = std::max<int64_t>(floor, max.count());
  int64_t high = 2 * floor;
  for (uint32_t i = 0; i < attempt && high < ceiling; ++i) {
    high *= 2;
  }
  high = std::min(high, ceiling);
  const int64_t low = std::max(floor, high / 2);
  const double unit = std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(low + static_cast<int64_t>(unit * static_cast<double>(high - low)));
}

GapAction gapAction(config::GapPolicy policy, const SubscriptionStart& start) {
  if (start.resumed_from_id || (start.first && start.first_attempt)) {
    return GapAction::None;
  }
  switch (policy) {
    case config::GapPolicy::RevalidateAll:
      return GapAction::RevalidateAll;
    case config::GapPolicy::PurgeAll:
      return GapAction::PurgeAll;
    case config::GapPolicy::Ignore:
      return GapAction::None;
  }
  return GapAction::RevalidateAll;
}

const char* gapActionName(GapAction action) {
  switch (action) {
    case GapAction::None:
      return "none";
    case GapAction::RevalidateAll:
      return "revalidate_all";
    case GapAction::PurgeAll:
      return "purge_all";
  }
  return "?";
}

}  // namespace edge::invalidation
