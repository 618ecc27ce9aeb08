// Config -> YAML: the effective configuration with every default filled in, in the loader's
// own key names and value forms, so that loading the dump gives the same Config again.
// Secrets are not printed (a literal Redis password shows as "<redacted>").
#pragma once

#include <cstdint>
#include <string>

#include "config/config.h"

namespace edge::config {

inline constexpr const char* kRedacted = "<redacted>";

// The whole document, starting with comment lines that name config.source.
std::string dumpConfig(const Config& config);

// The shortest exact form the loader reads back: "250ms", "10s", "5m", "1h", "1d", "0s".
std::string formatDuration(Millis duration);

// Likewise for byte sizes: "512", "64k", "8m", "1g".
std::string formatByteSize(uint64_t bytes);

}  // namespace edge::config
