#include "proxy/invalidation/purger.h"

#include <chrono>
#include <string>

#include "lib/cache/shared_cache.h"
#include "proxy/log.h"

namespace edge::invalidation {
namespace {

constexpr size_t kLoggedPayload = 80;

// The start of a payload as it can be logged on one line.
std::string preview(std::string_view payload) {
  std::string out;
  for (const char c : payload.substr(0, kLoggedPayload)) {
    const auto byte = static_cast<unsigned char>(c);
    out += byte < 0x20 || byte == 0x7f ? '?' : c;
  }
  return payload.size() > kLoggedPayload ? out + "..." : out;
}

}  // namespace

void Purger::onMessage(std::string_view payload, std::string_view source) {
  ParsedMessage parsed = parseMessage(payload, max_message_bytes_);
  if (!parsed.command) {
    onMalformed(payload, source, parsed.error);
    return;
  }
  ++stats_.messages;
  const size_t count = apply(*parsed.command);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  stats_.last_applied_us = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
  stats_.last_message_ms = stats_.last_applied_us / 1000;
  EDGE_LOG_DEBUG("invalidation: %.*s purged %zu entries", static_cast<int>(source.size()),
                 source.data(), count);
}

void Purger::onMalformed(std::string_view payload, std::string_view source,
                         const std::string& reason) {
  ++stats_.messages;
  ++stats_.malformed;
  stats_.last_malformed_reason = reason;
  uint64_t suppressed = 0;
  if (!malformed_log_.allow(cache::wallClockMs(), suppressed)) {
    return;
  }
  const std::string more =
      suppressed == 0 ? ""
                      : " (" + std::to_string(suppressed) + " more were not logged)";
  EDGE_LOG_WARN("invalidation: ignoring malformed message from %.*s: %s; message: \"%s\"%s",
                static_cast<int>(source.size()), source.data(), reason.c_str(),
                preview(payload).c_str(), more.c_str());
}

size_t Purger::apply(const PurgeCommand& command) {
  const cache::PurgeMode mode = command.soft ? cache::PurgeMode::Soft : cache::PurgeMode::Hard;
  size_t count = 0;
  for (const std::string& key : command.keys) {
    count += store_.purgeKey(key, mode);
  }
  for (const std::string& tag : command.tags) {
    count += store_.purgeTag(tag, mode);
  }
  for (const std::string& pattern : command.patterns) {
    count += store_.purgeGlob(pattern, mode);
  }
  ++stats_.purges;
  stats_.purged_entries += count;
  return count;
}

void Purger::applyGap(GapAction action, int64_t down_ms) {
  if (action == GapAction::None) {
    return;
  }
  const cache::PurgeMode mode =
      action == GapAction::PurgeAll ? cache::PurgeMode::Hard : cache::PurgeMode::Soft;
  const size_t count = store_.purgeAll(mode);
  ++stats_.gaps;
  stats_.last_gap_ms = cache::wallClockMs();
  stats_.last_gap_down_ms = down_ms;
  stats_.last_gap_action = gapActionName(action);
  stats_.last_gap_entries = count;
  EDGE_LOG_WARN("invalidation: messages may have been missed for %lld ms; gap policy %s applied "
                "to %zu entries",
                static_cast<long long>(down_ms), gapActionName(action), count);
}

}  // namespace edge::invalidation
