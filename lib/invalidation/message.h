// Invalidation messages as applications publish them, decoded into what to purge. Pure logic.
//
// Plain text: one key, tag or glob pattern ("org:42:*:list:*"), matched against entry tags and
// cache keys; surrounding whitespace is ignored. JSON (text starting with '{'):
//   {"keys": [...], "tags": [...], "patterns": [...], "soft": true}
// every field optional, at least one name in all; unknown fields are an error, so a typo never
// purges less than was meant without anyone noticing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edge::invalidation {

struct PurgeCommand {
  std::vector<std::string> keys;      // exact cache keys
  std::vector<std::string> tags;      // exact tags
  std::vector<std::string> patterns;  // fnmatch(3) globs over tags and keys
  bool soft = false;                  // mark stale (revalidate before use) instead of removing

  bool operator==(const PurgeCommand&) const = default;
};

struct ParsedMessage {
  std::optional<PurgeCommand> command;  // set when valid
  std::string error;                    // why not, when not
};

inline constexpr size_t kMaxNamesPerMessage = 10'000;

ParsedMessage parseMessage(std::string_view text, size_t max_bytes);

// The JSON form alone (for the admin API, whose bodies are always JSON).
ParsedMessage parseJsonMessage(std::string_view text, size_t max_bytes);

}  // namespace edge::invalidation
