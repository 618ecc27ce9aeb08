#include "config/loader_compression.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::config::yaml {
namespace {

constexpr uint64_t kNoSizeBound = std::numeric_limits<uint64_t>::max();
constexpr std::string_view kMediaTypeWhat =
    "a media type like application/json or text/*, without parameters";

struct LevelKey {
  const char* name;
  int CompressionConfig::*member;
  int64_t min;
  int64_t max;
};

// The ranges the encoders accept: zlib levels 1..9, Brotli quality 0..11, lgwin 10..24.
constexpr LevelKey kLevels[] = {
    {"gzip_level", &CompressionConfig::gzip_level, 1, 9},
    {"brotli_quality", &CompressionConfig::brotli_quality, 0, 11},
    {"stream_gzip_level", &CompressionConfig::stream_gzip_level, 1, 9},
    {"stream_brotli_quality", &CompressionConfig::stream_brotli_quality, 0, 11},
    {"stream_brotli_window", &CompressionConfig::stream_brotli_window, 10, 24}};

// type/subtype, each part a token in which '*' is a wildcard; lower-cased because media types
// are matched without regard to case.
std::optional<std::string> readMediaType(Diagnostics& diag, const Field& field) {
  if (!field.node.IsScalar()) {
    diag.expected(field, kMediaTypeWhat);
    return std::nullopt;
  }
  const std::string& text = field.node.Scalar();
  const size_t slash = text.find('/');
  const bool valid = slash != std::string::npos && yaml::isToken(text.substr(0, slash)) &&
                     yaml::isToken(text.substr(slash + 1));
  if (!valid) {
    diag.expected(field, kMediaTypeWhat);
    return std::nullopt;
  }
  return yaml::lowerAscii(text);
}

void readTypes(Diagnostics& diag, const Field& field, CompressionConfig& compression) {
  const auto items = yaml::listItems(diag, field, "a list of media types like [text/*]");
  if (!items) {
    return;
  }
  if (items->empty()) {
    diag.expected(field, "at least one media type (enabled: false turns compression off)");
    return;
  }
  std::vector<std::string> types;
  for (const auto& item : *items) {
    if (auto type = readMediaType(diag, item)) {
      types.push_back(std::move(*type));
    }
  }
  compression.types = std::move(types);
}

std::vector<std::string> knownKeys() {
  std::vector<std::string> known = {"enabled", "min_size", "types"};
  for (const auto& key : kLevels) {
    known.emplace_back(key.name);
  }
  return known;
}

}  // namespace

void readCompression(Diagnostics& diag, const Field& field, CompressionConfig& compression) {
  const MapFields map(diag, field, knownKeys());
  if (const auto value = map.get("enabled")) {
    compression.enabled = yaml::readBool(diag, *value).value_or(compression.enabled);
  }
  if (const auto value = map.get("min_size")) {
    const auto bytes = yaml::readByteSize(diag, *value, 0, kNoSizeBound);
    compression.min_size = bytes.value_or(compression.min_size);
  }
  if (const auto value = map.get("types")) {
    readTypes(diag, *value, compression);
  }
  for (const auto& key : kLevels) {
    if (const auto value = map.get(key.name)) {
      if (const auto level = yaml::readInteger(diag, *value, key.min, key.max)) {
        compression.*key.member = static_cast<int>(*level);
      }
    }
  }
}

}  // namespace edge::config::yaml
