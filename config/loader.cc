#include "config/loader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "config/loader_routes.h"
#include "config/yaml_reader.h"

namespace edge::config {
namespace {

using yaml::Diagnostics;
using yaml::Field;
using yaml::MapFields;

constexpr uint64_t kMinHeaderBytes = 1ull << 10;
constexpr uint64_t kMaxHeaderBytes = 1ull << 20;
constexpr int64_t kMaxWorkers = 256;
constexpr int64_t kNoUpperBound = std::numeric_limits<int64_t>::max();
constexpr uint64_t kNoSizeBound = std::numeric_limits<uint64_t>::max();
constexpr uint64_t kMinCacheMemory = 1ull << 20;
constexpr int64_t kMaxCacheShards = 1024;
constexpr int64_t kMinStatus = 100;
constexpr int64_t kMaxStatus = 599;
constexpr size_t kMaxPathIndexDigits = 4;  // more path segments than that is never meant
constexpr std::string_view kPlaceholders = "{header.NAME}, {path.N} with N from 1, {query.NAME}";

struct DurationKey {
  const char* name;
  Millis ClientTimeouts::*member;
};

struct UpstreamDurationKey {
  const char* name;
  Millis UpstreamConfig::*member;
};

struct ClassDurationKey {
  const char* name;
  Millis RouteClass::*member;
};

struct ClassFlagKey {
  const char* name;
  bool RouteClass::*member;
};

void readListen(Diagnostics& diag, const Field& field, Config& config) {
  std::vector<Field> items{field};
  if (!field.node.IsScalar()) {
    auto list = yaml::listItems(diag, field, "host:port or a list of them");
    if (!list) {
      return;
    }
    items = std::move(*list);
  }
  if (items.empty()) {
    diag.expected(field, "at least one host:port");
  }
  for (const auto& item : items) {
    const auto address = yaml::readHostPort(diag, item);
    if (!address) {
      continue;
    }
    // Port 0 picks a free port each time, so it may well appear twice.
    if (address->port != 0 &&
        std::find(config.listen.begin(), config.listen.end(), *address) != config.listen.end()) {
      diag.add(item, "address " + address->str() + " is listed twice");
      continue;
    }
    config.listen.push_back(*address);
  }
}

void readWorkers(Diagnostics& diag, const Field& field, Config& config) {
  const bool is_number = field.node.IsScalar() && !field.node.Scalar().empty() &&
                         field.node.Scalar().find_first_not_of("0123456789") == std::string::npos;
  if (field.node.IsScalar() && field.node.Scalar() == "auto") {
    config.workers = 0;
  } else if (is_number) {
    if (const auto value = yaml::readInteger(diag, field, 1, kMaxWorkers)) {
      config.workers = static_cast<unsigned>(*value);
    }
  } else {
    diag.expected(field, "\"auto\" or a number from 1 to 256");
  }
}

void readLimits(Diagnostics& diag, const Field& field, Limits& limits) {
  const MapFields map(diag, field, {"max_header_bytes", "max_request_body"});
  if (const auto value = map.get("max_header_bytes")) {
    if (const auto bytes = yaml::readByteSize(diag, *value, kMinHeaderBytes, kMaxHeaderBytes)) {
      limits.max_header_bytes = static_cast<size_t>(*bytes);
    }
  }
  if (const auto value = map.get("max_request_body")) {
    const auto bytes = yaml::readByteSize(diag, *value, 0, std::numeric_limits<uint64_t>::max());
    limits.max_request_body = bytes.value_or(limits.max_request_body);
  }
}

void readClientTimeouts(Diagnostics& diag, const Field& field, ClientTimeouts& timeouts) {
  constexpr DurationKey kKeys[] = {{"header", &ClientTimeouts::header},
                                   {"body_idle", &ClientTimeouts::body_idle},
                                   {"keepalive", &ClientTimeouts::keepalive},
                                   {"send_idle", &ClientTimeouts::send_idle},
                                   {"drain", &ClientTimeouts::drain}};
  std::vector<std::string> known;
  for (const auto& key : kKeys) {
    known.emplace_back(key.name);
  }
  const MapFields map(diag, field, std::move(known));
  for (const auto& key : kKeys) {
    if (const auto value = map.get(key.name)) {
      const auto duration = yaml::readDuration(diag, *value, false);
      timeouts.*key.member = duration.value_or(timeouts.*key.member);
    }
  }
}

void readServers(Diagnostics& diag, const Field& field, UpstreamConfig& upstream) {
  const auto items = yaml::listItems(diag, field, "a list of host:port");
  if (!items) {
    return;
  }
  if (items->empty()) {
    diag.expected(field, "at least one host:port");
  }
  for (const auto& item : *items) {
    const auto server = yaml::readHostPort(diag, item);
    if (server && server->port == 0) {
      diag.add(item, "an upstream server needs a real port, not 0");
    } else if (server) {
      upstream.servers.push_back(*server);
    }
  }
}

void readPool(Diagnostics& diag, const Field& field, UpstreamConfig& upstream) {
  const MapFields map(diag, field, {"max_idle", "idle_timeout"});
  if (const auto value = map.get("max_idle")) {
    if (const auto count = yaml::readInteger(diag, *value, 0, kNoUpperBound)) {
      upstream.pool_max_idle = static_cast<size_t>(*count);
    }
  }
  if (const auto value = map.get("idle_timeout")) {
    const auto duration = yaml::readDuration(diag, *value, false);
    upstream.pool_idle_timeout = duration.value_or(upstream.pool_idle_timeout);
  }
}

void readUpstreamScalars(Diagnostics& diag, const MapFields& map, UpstreamConfig& upstream) {
  constexpr UpstreamDurationKey kDurations[] = {
      {"connect_timeout", &UpstreamConfig::connect_timeout},
      {"first_byte_timeout", &UpstreamConfig::first_byte_timeout},
      {"idle_timeout", &UpstreamConfig::idle_timeout},
      {"fail_timeout", &UpstreamConfig::fail_timeout}};
  for (const auto& key : kDurations) {
    if (const auto value = map.get(key.name)) {
      const auto duration = yaml::readDuration(diag, *value, false);
      upstream.*key.member = duration.value_or(upstream.*key.member);
    }
  }
  if (const auto value = map.get("host_header")) {
    upstream.host_header = yaml::readString(diag, *value);
  }
  if (const auto value = map.get("max_fails")) {
    const auto max = static_cast<int64_t>(std::numeric_limits<uint32_t>::max());
    if (const auto count = yaml::readInteger(diag, *value, 1, max)) {
      upstream.max_fails = static_cast<uint32_t>(*count);
    }
  }
}

void readUpstreams(Diagnostics& diag, const Field& field, Config& config) {
  const auto entries = yaml::namedEntries(diag, field);
  if (entries.empty() && field.node.IsMap()) {
    diag.expected(field, "at least one upstream");
  }
  for (const auto& entry : entries) {
    // The name is kept even when the body is wrong, so routes naming it are not reported too.
    UpstreamConfig upstream;
    upstream.name = entry.name;
    const MapFields map(diag, entry.field,
                        {"servers", "connect_timeout", "first_byte_timeout", "idle_timeout", "pool",
                         "host_header", "max_fails", "fail_timeout"});
    if (const auto servers = map.require("servers")) {
      readServers(diag, *servers, upstream);
    }
    if (const auto pool = map.get("pool")) {
      readPool(diag, *pool, upstream);
    }
    readUpstreamScalars(diag, map, upstream);
    config.upstreams.push_back(std::move(upstream));
  }
}

void readCache(Diagnostics& diag, const Field& field, CacheConfig& cache) {
  const MapFields map(diag, field, {"memory", "shards", "lock_timeout", "hit_for_miss"});
  if (const auto value = map.get("memory")) {
    cache.memory =
        yaml::readByteSize(diag, *value, kMinCacheMemory, kNoSizeBound).value_or(cache.memory);
  }
  if (const auto value = map.get("shards")) {
    if (const auto count = yaml::readInteger(diag, *value, 1, kMaxCacheShards)) {
      cache.shards = static_cast<unsigned>(*count);
    }
  }
  if (const auto value = map.get("lock_timeout")) {
    cache.lock_timeout = yaml::readDuration(diag, *value, false).value_or(cache.lock_timeout);
  }
  if (const auto value = map.get("hit_for_miss")) {
    cache.hit_for_miss = yaml::readDuration(diag, *value, true).value_or(cache.hit_for_miss);
  }
}

// The valid header names of a list, lower-cased; nullopt when it is not a list.
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

void readClassScalars(Diagnostics& diag, const MapFields& map, RouteClass& route_class) {
  constexpr ClassDurationKey kDurations[] = {
      {"ttl", &RouteClass::ttl},
      {"stale_while_revalidate", &RouteClass::stale_while_revalidate},
      {"stale_if_error", &RouteClass::stale_if_error}};
  constexpr ClassFlagKey kFlags[] = {{"cache", &RouteClass::cache},
                                     {"override_origin", &RouteClass::override_origin},
                                     {"heuristic_freshness", &RouteClass::heuristic_freshness},
                                     {"store_set_cookie", &RouteClass::store_set_cookie}};
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
                       "max_object_size", "store_set_cookie", "tags"});
  readClassScalars(diag, map, route_class);
  if (const auto value = map.get("key")) {
    readCacheKey(diag, *value, route_class.key);
  }
  if (const auto value = map.get("vary")) {
    route_class.vary = readHeaderNames(diag, *value).value_or(route_class.vary);
  }
  if (const auto value = map.get("statuses")) {
    readStatuses(diag, *value, route_class);
  }
  if (const auto value = map.get("tags")) {
    readTags(diag, *value, route_class);
  }
  return route_class;
}

void readRouteClasses(Diagnostics& diag, const Field& field, Config& config) {
  for (const auto& entry : yaml::namedEntries(diag, field)) {
    config.route_classes.push_back(readRouteClass(diag, entry));
  }
}

void readTopLevel(Diagnostics& diag, const YAML::Node& root, Config& config) {
  const Field field{root, "", YAML::Mark::null_mark()};
  const MapFields map(diag, field,
                      {"listen", "workers", "limits", "client_timeouts", "upstreams", "cache",
                       "route_classes", "routes"});
  if (!map.isMap()) {
    return;
  }
  if (const auto value = map.require("listen")) {
    readListen(diag, *value, config);
  }
  if (const auto value = map.get("workers")) {
    readWorkers(diag, *value, config);
  }
  if (const auto value = map.get("limits")) {
    readLimits(diag, *value, config.limits);
  }
  if (const auto value = map.get("client_timeouts")) {
    readClientTimeouts(diag, *value, config.client_timeouts);
  }
  if (const auto value = map.require("upstreams")) {
    readUpstreams(diag, *value, config);
  }
  if (const auto value = map.get("cache")) {
    readCache(diag, *value, config.cache);
  }
  if (const auto value = map.get("route_classes")) {
    readRouteClasses(diag, *value, config);
  }
  if (const auto value = map.require("routes")) {
    yaml::readRoutes(diag, *value, config);
  }
}

void readDocuments(Diagnostics& diag, const std::vector<YAML::Node>& documents, Config& config) {
  if (documents.empty() || documents.front().IsNull()) {
    diag.add(YAML::Mark(), "", "the configuration is empty; expected listen, upstreams and routes");
    return;
  }
  if (documents.size() > 1) {
    diag.add(documents[1].Mark(), "",
             "expected one YAML document, found " + std::to_string(documents.size()));
  }
  readTopLevel(diag, documents.front(), config);
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};

// The whole file, or the errno that stopped the read.
std::string readFile(const std::string& path, int& error) {
  error = 0;
  const std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    error = errno;
    return {};
  }
  std::string content;
  errno = 0;
  char buffer[16384];
  size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof(buffer), file.get())) > 0) {
    content.append(buffer, count);
  }
  if (std::ferror(file.get()) != 0) {
    error = errno != 0 ? errno : EIO;
  }
  return content;
}

}  // namespace

std::string ConfigError::format() const {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) {
      out += ':' + std::to_string(column);
    }
  }
  out += ": ";
  if (!key_path.empty()) {
    out += key_path + ": ";
  }
  return out + message;
}

LoadResult loadConfigString(std::string_view yaml_text, const std::string& source_name) {
  Diagnostics diag(source_name);
  auto config = std::make_shared<Config>();
  config->source = source_name;
  try {
    readDocuments(diag, YAML::LoadAll(std::string(yaml_text)), *config);
  } catch (const YAML::ParserException& e) {
    diag.add(e.mark, "", "invalid YAML: " + e.msg);
  } catch (const YAML::Exception& e) {
    diag.add(e.mark, "", "cannot read the configuration: " + e.msg);
  }
  LoadResult result;
  result.errors = diag.take();
  // Sections are read in a fixed order, not the file's; people read errors top to bottom.
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) {
                     return std::pair(a.line, a.column) < std::pair(b.line, b.column);
                   });
  if (result.errors.empty()) {
    result.config = std::move(config);
  }
  return result;
}

LoadResult loadConfigFile(const std::string& path) {
  int error = 0;
  const std::string content = readFile(path, error);
  if (error != 0) {
    LoadResult result;
    const std::string reason = std::generic_category().message(error);
    result.errors.push_back(ConfigError{path, 0, 0, "", "cannot read config file: " + reason});
    return result;
  }
  return loadConfigString(content, path);
}

}  // namespace edge::config
