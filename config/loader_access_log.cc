#include "config/loader_access_log.h"

#include <charconv>
#include <optional>
#include <string>

namespace edge::config::yaml {
namespace {

constexpr uint64_t kMinBufferSize = 4096;
constexpr uint64_t kMaxBufferSize = 1ull << 30;
constexpr std::chrono::milliseconds kMaxFlushInterval{60'000};

// A number from 0 to 1 ("0.1", "1", "0").
std::optional<double> readFraction(Diagnostics& diag, const Field& field) {
  const std::string text = field.node.IsScalar() ? field.node.Scalar() : std::string();
  double value = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !(value >= 0) ||
      value > 1) {
    diag.expected(field, "a fraction from 0 to 1, like 0.1");
    return std::nullopt;
  }
  return value;
}

std::optional<AccessLogConfig::Format> readFormat(Diagnostics& diag, const Field& field) {
  const auto text = yaml::readString(diag, field);
  if (!text) {
    return std::nullopt;
  }
  if (*text == "json") {
    return AccessLogConfig::Format::Json;
  }
  if (*text == "combined") {
    return AccessLogConfig::Format::Combined;
  }
  diag.expected(field, "json or combined");
  return std::nullopt;
}

}  // namespace

void readAccessLog(Diagnostics& diag, const Field& field, AccessLogConfig& log) {
  const MapFields map(diag, field,
                      {"enabled", "path", "format", "sample", "flush_interval", "buffer_size"});
  if (const auto value = map.get("enabled")) {
    log.enabled = yaml::readBool(diag, *value).value_or(log.enabled);
  }
  if (const auto value = map.get("path")) {
    log.path = yaml::readString(diag, *value).value_or(log.path);
  }
  if (const auto value = map.get("format")) {
    log.format = readFormat(diag, *value).value_or(log.format);
  }
  if (const auto value = map.get("sample")) {
    log.sample = readFraction(diag, *value).value_or(log.sample);
  }
  if (const auto value = map.get("flush_interval")) {
    if (auto interval = yaml::readDuration(diag, *value, false)) {
      if (*interval > kMaxFlushInterval) {
        diag.expected(*value, "a duration up to 60s");
      } else {
        log.flush_interval = *interval;
      }
    }
  }
  if (const auto value = map.get("buffer_size")) {
    log.buffer_size = yaml::readByteSize(diag, *value, kMinBufferSize, kMaxBufferSize)
                          .value_or(log.buffer_size);
  }
}

}  // namespace edge::config::yaml
