#include "config/loader_health.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace edge::config::yaml {
namespace {

constexpr int64_t kMaxThreshold = 1000;
constexpr int kLowestStatus = 100;
constexpr int kHighestStatus = 599;

std::optional<int> statusNumber(std::string_view text) {
  if (text.size() != 3 || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  const int value = std::stoi(std::string(text));
  if (value < kLowestStatus || value > kHighestStatus) {
    return std::nullopt;
  }
  return value;
}

// 200, "204", "2xx" or "200-299": one inclusive range of statuses.
std::optional<std::pair<int, int>> statusRange(std::string_view text) {
  if (text.size() == 3 && text[1] == 'x' && text[2] == 'x' && text[0] >= '1' && text[0] <= '5') {
    const int hundreds = (text[0] - '0') * 100;
    return std::pair{hundreds, hundreds + 99};
  }
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    const auto status = statusNumber(text);
    return status ? std::optional(std::pair{*status, *status}) : std::nullopt;
  }
  const auto low = statusNumber(text.substr(0, dash));
  const auto high = statusNumber(text.substr(dash + 1));
  if (!low || !high || *low > *high) {
    return std::nullopt;
  }
  return std::pair{*low, *high};
}

void readExpectedStatuses(Diagnostics& diag, const Field& field, HealthCheckConfig& check) {
  const auto items = yaml::listItems(diag, field, "a list of statuses like 200, 2xx or 200-399");
  if (!items) {
    return;
  }
  if (items->empty()) {
    diag.expected(field, "at least one status like 200, 2xx or 200-399");
    return;
  }
  check.expected_statuses.clear();
  for (const Field& item : *items) {
    const auto range = item.node.IsScalar() ? statusRange(item.node.Scalar()) : std::nullopt;
    if (range) {
      check.expected_statuses.push_back(*range);
    } else {
      diag.expected(item, "a status from 100 to 599, a class like 2xx or a range like 200-399");
    }
  }
}

std::optional<std::string> readCheckPath(Diagnostics& diag, const Field& field) {
  auto path = yaml::readString(diag, field);
  if (path && (path->front() != '/' || path->find_first_of("# \t\r\n") != std::string::npos)) {
    diag.expected(field, "an origin-form path like /healthz (no spaces or fragment)");
    return std::nullopt;
  }
  return path;
}

std::optional<uint32_t> readThreshold(Diagnostics& diag, const Field& field) {
  const auto value = yaml::readInteger(diag, field, 1, kMaxThreshold);
  return value ? std::optional(static_cast<uint32_t>(*value)) : std::nullopt;
}

}  // namespace

HealthCheckConfig readHealthCheck(Diagnostics& diag, const Field& field) {
  HealthCheckConfig check;
  const MapFields map(diag, field,
                      {"path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold",
                       "expected_statuses", "host"});
  if (const auto value = map.get("path")) {
    check.path = readCheckPath(diag, *value).value_or(check.path);
  }
  if (const auto value = map.get("interval")) {
    check.interval = yaml::readDuration(diag, *value, false).value_or(check.interval);
  }
  if (const auto value = map.get("timeout")) {
    check.timeout = yaml::readDuration(diag, *value, false).value_or(check.timeout);
  }
  if (const auto value = map.get("healthy_threshold")) {
    check.healthy_threshold = readThreshold(diag, *value).value_or(check.healthy_threshold);
  }
  if (const auto value = map.get("unhealthy_threshold")) {
    check.unhealthy_threshold = readThreshold(diag, *value).value_or(check.unhealthy_threshold);
  }
  if (const auto value = map.get("expected_statuses")) {
    readExpectedStatuses(diag, *value, check);
  }
  if (const auto value = map.get("host")) {
    const auto host = yaml::readString(diag, *value);
    if (host && host->find_first_of(" \t\r\n") != std::string::npos) {
      diag.expected(*value, "a host name without spaces");
    } else if (host) {
      check.host = *host;
    }
  }
  return check;
}

}  // namespace edge::config::yaml
