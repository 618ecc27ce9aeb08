#include "config/loader_batch.h"

#include <cstdint>
#include <optional>
#include <string>

namespace edge::config::yaml {
namespace {

constexpr int64_t kMaxItems = 1000;
constexpr int64_t kMaxConcurrency = 1000;
constexpr uint64_t kMaxBodySize = 1ull << 30;

// An origin-form path without query or fragment: "/api/v1/batch".
std::optional<std::string> readBatchPath(Diagnostics& diag, const Field& field) {
  auto path = yaml::readString(diag, field);
  if (!path) {
    return std::nullopt;
  }
  if (path->empty() || path->front() != '/' ||
      path->find_first_of("?# \t") != std::string::npos) {
    diag.expected(field, "a path like /api/v1/batch (no query, no spaces)");
    return std::nullopt;
  }
  return path;
}

void readInheritedHeaders(Diagnostics& diag, const Field& field, BatchConfig& batch) {
  const auto items = yaml::listItems(diag, field, "a list of header names");
  if (!items) {
    return;
  }
  batch.inherit_headers.clear();
  for (const auto& item : *items) {
    if (auto name = yaml::readHeaderName(diag, item)) {
      batch.inherit_headers.push_back(std::move(*name));
    }
  }
}

}  // namespace

void readBatch(Diagnostics& diag, const Field& field, BatchConfig& batch) {
  const MapFields map(diag, field,
                      {"enabled", "path", "max_items", "max_request_size", "max_response_size",
                       "item_timeout", "concurrency", "inherit_headers"});
  if (const auto value = map.get("enabled")) {
    batch.enabled = yaml::readBool(diag, *value).value_or(batch.enabled);
  }
  if (const auto value = map.get("path")) {
    batch.path = readBatchPath(diag, *value).value_or(batch.path);
  }
  if (const auto value = map.get("max_items")) {
    batch.max_items =
        static_cast<size_t>(yaml::readInteger(diag, *value, 1, kMaxItems).value_or(
            static_cast<int64_t>(batch.max_items)));
  }
  if (const auto value = map.get("concurrency")) {
    batch.concurrency =
        static_cast<size_t>(yaml::readInteger(diag, *value, 1, kMaxConcurrency).value_or(
            static_cast<int64_t>(batch.concurrency)));
  }
  if (const auto value = map.get("max_request_size")) {
    batch.max_request_size =
        yaml::readByteSize(diag, *value, 2, kMaxBodySize).value_or(batch.max_request_size);
  }
  if (const auto value = map.get("max_response_size")) {
    batch.max_response_size =
        yaml::readByteSize(diag, *value, 1, kMaxBodySize).value_or(batch.max_response_size);
  }
  if (const auto value = map.get("item_timeout")) {
    batch.item_timeout = yaml::readDuration(diag, *value, false).value_or(batch.item_timeout);
  }
  if (const auto value = map.get("inherit_headers")) {
    readInheritedHeaders(diag, *value, batch);
  }
}

}  // namespace edge::config::yaml
