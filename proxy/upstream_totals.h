// Upstream counters as read and summed (see upstream_counters.h), by upstream slot.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "lib/http/error_kind.h"

namespace edge {

inline constexpr size_t kErrorKindCount = static_cast<size_t>(http::ErrorKind::Aborted) + 1;

struct UpstreamTotals {
  struct PerUpstream {
    uint64_t connects = 0;
    std::array<uint64_t, kErrorKindCount> failures{};  // by http::ErrorKind
    uint64_t retries = 0;
    uint64_t ejections = 0;
    uint64_t idle = 0;
  };
  std::vector<PerUpstream> upstreams;  // by slot; empty when not read

  UpstreamTotals& operator+=(const UpstreamTotals& other);
};

}  // namespace edge
