#include "config/loader_classes.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edge::config::yaml {
namespace {

constexpr uint64_t kNoSizeBound = std::numeric_limits<uint64_t>::max();
constexpr int64_t kMinStatus = 100;
constexpr int64_t kMaxStatus = 599;
constexpr size_t kMaxPathIndexDigits = 4;  // more path segments than that is never meant
constexpr std::string_view kPlaceholders = "{header.NAME}, {path.N} with N from 1, {query.NAME}";

struct ClassDurationKey {
  const char* name;
  Millis RouteClass::*member;
};

struct ClassFlagKey {
  const char* name;
  bool RouteClass::*member;
};

std::optional<std::vector<std::string>> readHeaderNames(Diagnostics& diag, const Field& field) {
  const auto items = yaml::listItems(diag, field, "a list of header names");
  if (!items) {
    return std::nullopt;
  }
  std::vector<std::string> names;
  for (const auto& item : *items) {
    if (auto name = yaml::readHeaderName(diag, item)) {
      names.push_back(std::move(*name));
    }
  }
  return names;
}

// A query parameter name as it appears in a URL, optionally ending in '*' to match a prefix.
std::optional<std::string> readQueryName(Diagnostics& diag, const Field& field) {
  auto name = yaml::readString(diag, field);
  if (!name) {
    return std::nullopt;
  }
  const size_t star = name->find('*');
  const bool bad_char = std::any_of(name->begin(), name->end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) ||
           std::string_view("&=#?").find(c) != std::string_view::npos;
  });
  if (bad_char || (star != std::string::npos && star + 1 != name->size())) {
    diag.expected(field, "a query parameter name, optionally ending in * like utm_*");
    return std::nullopt;
  }
  return name;
}

void readQueryParams(Diagnostics& diag, const MapFields& map, CacheKeyConfig& key) {
  const auto ignore = map.get("query_ignore");
  const auto include = map.get("query_include");
  if (ignore && include) {
    diag.add(*include, "give either query_ignore or query_include, not both");
    return;
  }
  if (!ignore && !include) {
    return;
  }
  const auto items =
      yaml::listItems(diag, include ? *include : *ignore, "a list of query parameter names");
  if (!items) {
    return;
  }
  key.query_mode =
      include ? CacheKeyConfig::QueryMode::IncludeOnly : CacheKeyConfig::QueryMode::IgnoreListed;
  key.query_params.clear();
  for (const auto& item : *items) {
    if (auto name = readQueryName(diag, item)) {
      key.query_params.push_back(std::move(*name));
    }
  }
}

void readCacheKey(Diagnostics& diag, const Field& field, CacheKeyConfig& key) {
  const MapFields map(
      diag, field, {"query_ignore", "query_include", "headers", "per_credential", "tenant_header"});
  readQueryParams(diag, map, key);
  if (const auto value = map.get("headers")) {
    key.headers = readHeaderNames(diag, *value).value_or(key.headers);
  }
  if (const auto value = map.get("per_credential")) {
    key.per_credential = yaml::readBool(diag, *value).value_or(key.per_credential);
  }
  if (const auto value = map.get("tenant_header")) {
    key.tenant_header = yaml::readHeaderName(diag, *value).value_or(key.tenant_header);
  }
}

// Request headers that split entries. "*" would make every request a variant of its own.
void readVary(Diagnostics& diag, const Field& field, RouteClass& route_class) {
  auto names = readHeaderNames(diag, field);
  if (!names) {
    return;
  }
  if (std::find(names->begin(), names->end(), "*") != names->end()) {
    diag.add(field, "\"*\" cannot be a vary header: every request would be a variant of its "
                    "own; use cache: false for a class that should not be cached");
    return;
  }
  route_class.vary = std::move(*names);
}

void readStatuses(Diagnostics& diag, const Field& field, RouteClass& route_class) {
  const auto items = yaml::listItems(diag, field, "a list of status codes like [200, 404]");
  if (!items) {
    return;
  }
  if (items->empty()) {
    diag.expected(field, "at least one status code (cache: false stores nothing)");
  }
  route_class.statuses.clear();
  for (const auto& item : *items) {
    if (const auto status = yaml::readInteger(diag, item, kMinStatus, kMaxStatus)) {
      route_class.statuses.push_back(static_cast<int>(*status));
    }
  }
}

// A placeholder's text between the braces: header.NAME, path.N (N from 1) or query.NAME.
bool isPlaceholder(std::string_view inner) {
  const auto after = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (inner.substr(0, prefix.size()) != prefix) {
      return std::nullopt;
    }
    return inner.substr(prefix.size());
  };
  if (const auto name = after("header.")) {
    return yaml::isToken(*name);
  }
  if (const auto index = after("path.")) {
    return !index->empty() && index->size() <= kMaxPathIndexDigits && index->front() != '0' &&
           index->find_first_not_of("0123456789") == std::string_view::npos;
  }
  if (const auto name = after("query.")) {
    return !name->empty() && std::none_of(name->begin(), name->end(), [](char c) {
      return std::isspace(static_cast<unsigned char>(c));
    });
  }
  return false;
}

// Empty when every brace in `tag` opens or closes an allowed placeholder; otherwise what is
// wrong. Header names in placeholders are lower-cased in `tag`, as everywhere else.
std::string tagProblem(std::string& tag) {
  size_t pos = 0;
  while ((pos = tag.find_first_of("{}", pos)) != std::string::npos) {
    if (tag[pos] == '}') {
      return "stray \"}\"";
    }
    const size_t close = tag.find_first_of("{}", pos + 1);
    if (close == std::string::npos || tag[close] == '{') {
      return "unclosed placeholder " + yaml::quote(tag.substr(pos, close - pos));
    }
    const std::string inner = tag.substr(pos + 1, close - pos - 1);
    if (!isPlaceholder(inner)) {
      return "bad placeholder " + yaml::quote(tag.substr(pos, close + 1 - pos));
    }
    if (inner.rfind("header.", 0) == 0) {
      tag.replace(pos + 1, inner.size(), yaml::lowerAscii(inner));
    }
    pos = close + 1;
  }
  return "";
}

void readTags(Diagnostics& diag, const Field& field, RouteClass& route_class) {
  const auto items = yaml::listItems(diag, field, "a list of tags like [\"org:{header.x-org}\"]");
  if (!items) {
    return;
  }
  for (const auto& item : *items) {
    auto tag = yaml::readString(diag, item);
    if (!tag) {
      continue;
    }
    const std::string original = *tag;
    const std::string problem = tagProblem(*tag);
    if (!problem.empty()) {
      diag.add(item, problem + " in " + yaml::quote(original) +
                         " (allowed: " + std::string(kPlaceholders) + ")");
      continue;
    }
    route_class.tags.push_back(std::move(*tag));
  }
}

// `fields: false` switches projection off; a map sets enabled, envelope and memoize.
void readFields(Diagnostics& diag, const Field& field, FieldsConfig& fields) {
  if (field.node.IsScalar()) {
    fields.enabled = yaml::readBool(diag, field).value_or(fields.enabled);
    return;
  }
  const MapFields map(diag, field, {"enabled", "envelope", "memoize"});
  if (const auto value = map.get("enabled")) {
    fields.enabled = yaml::readBool(diag, *value).value_or(fields.enabled);
  }
  if (const auto value = map.get("memoize")) {
    fields.memoize = yaml::readBool(diag, *value).value_or(fields.memoize);
  }
  if (const auto value = map.get("envelope")) {
    // `envelope: null` (or ~): bodies have no envelope; the selection applies at the top.
    if (value->node.IsNull()) {
      fields.envelope.clear();
    } else {
      fields.envelope = yaml::readString(diag, *value).value_or(fields.envelope);
    }
  }
}

void readClassScalars(Diagnostics& diag, const MapFields& map, RouteClass& route_class) {
  constexpr ClassDurationKey kDurations[] = {
      {"ttl", &RouteClass::ttl},
      {"stale_while_revalidate", &RouteClass::stale_while_revalidate},
      {"stale_if_error", &RouteClass::stale_if_error}};
  constexpr ClassFlagKey kFlags[] = {{"cache", &RouteClass::cache},
                                     {"override_origin", &RouteClass::override_origin},
                                     {"heuristic_freshness", &RouteClass::heuristic_freshness},
                                     {"store_set_cookie", &RouteClass::store_set_cookie},
                                     {"generate_etag", &RouteClass::generate_etag},
                                     {"compress_on_store", &RouteClass::compress_on_store}};
  for (const auto& key : kDurations) {
    if (const auto value = map.get(key.name)) {
      const auto duration = yaml::readDuration(diag, *value, true);
      route_class.*key.member = duration.value_or(route_class.*key.member);
    }
  }
  for (const auto& key : kFlags) {
    if (const auto value = map.get(key.name)) {
      route_class.*key.member = yaml::readBool(diag, *value).value_or(route_class.*key.member);
    }
  }
  if (const auto value = map.get("max_object_size")) {
    const auto bytes = yaml::readByteSize(diag, *value, 1, kNoSizeBound);
    route_class.max_object_size = bytes.value_or(route_class.max_object_size);
  }
}

// Keys of a class with `cache: false` are still checked: they apply once caching is turned on.
RouteClass readRouteClass(Diagnostics& diag, const yaml::NamedField& entry) {
  RouteClass route_class;
  route_class.name = entry.name;
  const MapFields map(diag, entry.field,
                      {"cache", "ttl", "override_origin", "stale_while_revalidate",
                       "stale_if_error", "heuristic_freshness", "key", "vary", "statuses",
                       "max_object_size", "store_set_cookie", "tags", "generate_etag",
                       "compress_on_store", "fields"});
  readClassScalars(diag, map, route_class);
  if (const auto value = map.get("key")) {
    readCacheKey(diag, *value, route_class.key);
  }
  if (const auto value = map.get("vary")) {
    readVary(diag, *value, route_class);
  }
  if (const auto value = map.get("statuses")) {
    readStatuses(diag, *value, route_class);
  }
  if (const auto value = map.get("tags")) {
    readTags(diag, *value, route_class);
  }
  if (const auto value = map.get("fields")) {
    readFields(diag, *value, route_class.fields);
  }
  return route_class;
}

}  // namespace

void readRouteClasses(Diagnostics& diag, const Field& field, Config& config) {
  for (const auto& entry : yaml::namedEntries(diag, field)) {
    config.route_classes.push_back(readRouteClass(diag, entry));
  }
}

}  // namespace edge::config::yaml
