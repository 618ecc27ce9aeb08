// Reconnect delays and the gap policy decision of the Redis subscriber. Pure logic.
#pragma once

#include <chrono>
#include <cstdint>

#include "config/invalidation_config.h"

namespace edge::invalidation {

// The wait before reconnect attempt `attempt` (0 for the first one after a loss): a pick by
// `unit_random` (in [0, 1)) from [d/2, d] where d is 2 * `min` doubled per attempt, capped at
// `max`; never below `min`. The jitter keeps proxies that lost the same Redis from all coming
// back in the same millisecond; the bounds keep the planned pace.
std::chrono::milliseconds backoffDelay(uint32_t attempt, std::chrono::milliseconds min,
                                       std::chrono::milliseconds max, double unit_random);

enum class GapAction { None, RevalidateAll, PurgeAll };

// How a subscription (or stream read) came to start.
struct SubscriptionStart {
  bool first = true;             // the first one since the process started...
  bool first_attempt = true;     // ...and it came from the very first connection attempt
  bool resumed_from_id = false;  // stream mode, continuing after the last id seen
};

// Pub/sub keeps nothing for an absent subscriber: whenever messages may have been missed
// while entries were being cached, the configured policy applies. Nothing was missed on a
// first subscription made at once, or when a stream read resumes from the last id seen.
GapAction gapAction(config::GapPolicy policy, const SubscriptionStart& start);

const char* gapActionName(GapAction action);

}  // namespace edge::invalidation
