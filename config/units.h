// Parsing of human-friendly values used in config and on the command line.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "config/config.h"

namespace edge::config {

// "250ms", "2s", "5m", "1h", "1d"; a bare integer means seconds.
std::optional<Millis> parseDuration(std::string_view text);

// The longest duration a config may name: ten years. Anything longer is a typo, and keeping
// durations this small leaves room for "now + duration" never to overflow.
inline constexpr Millis kMaxDuration{3650LL * 86'400'000};

// "512", "64k", "16m", "1g" (powers of 1024; "kb"/"mb"/"gb" and upper case accepted).
std::optional<uint64_t> parseByteSize(std::string_view text);

// "127.0.0.1:8080", "[::1]:8080", "localhost:80", ":8080" (= 0.0.0.0). Port required.
std::optional<HostPort> parseHostPort(std::string_view text);

// Levenshtein distance, for "did you mean" suggestions.
size_t editDistance(std::string_view a, std::string_view b);

}  // namespace edge::config
