#include "config/loader.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "config/loader_classes.h"
#include "config/loader_access_log.h"
#include "config/loader_batch.h"
#include "config/loader_compression.h"
#include "config/loader_health.h"
#include "config/loader_invalidation.h"
#include "config/loader_routes.h"
#include "config/loader_tls.h"
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

struct DurationKey {
  const char* name;
  Millis ClientTimeouts::*member;
};

struct UpstreamDurationKey {
  const char* name;
  Millis UpstreamConfig::*member;
};


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
  const MapFields map(diag, field, {"max_header_bytes", "max_request_body", "max_tunnels"});
  if (const auto value = map.get("max_header_bytes")) {
    if (const auto bytes = yaml::readByteSize(diag, *value, kMinHeaderBytes, kMaxHeaderBytes)) {
      limits.max_header_bytes = static_cast<size_t>(*bytes);
    }
  }
  if (const auto value = map.get("max_request_body")) {
    const auto bytes = yaml::readByteSize(diag, *value, 0, std::numeric_limits<uint64_t>::max());
    limits.max_request_body = bytes.value_or(limits.max_request_body);
  }
  if (const auto value = map.get("max_tunnels")) {
    if (const auto count = yaml::readInteger(diag, *value, 0, kNoUpperBound)) {
      limits.max_tunnels = static_cast<size_t>(*count);
    }
  }
}

void readClientTimeouts(Diagnostics& diag, const Field& field, ClientTimeouts& timeouts) {
  constexpr DurationKey kKeys[] = {{"header", &ClientTimeouts::header},
                                   {"body_idle", &ClientTimeouts::body_idle},
                                   {"keepalive", &ClientTimeouts::keepalive},
                                   {"send_idle", &ClientTimeouts::send_idle},
                                   {"drain", &ClientTimeouts::drain},
                                   {"drain_delay", &ClientTimeouts::drain_delay},
                                   {"tunnel_idle", &ClientTimeouts::tunnel_idle}};
  std::vector<std::string> known;
  for (const auto& key : kKeys) {
    known.emplace_back(key.name);
  }
  const MapFields map(diag, field, std::move(known));
  for (const auto& key : kKeys) {
    if (const auto value = map.get(key.name)) {
      // A drain delay of 0 means none; every other timeout must be positive.
      const bool zero_ok = key.member == &ClientTimeouts::drain_delay;
      const auto duration = yaml::readDuration(diag, *value, zero_ok);
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
      {"fail_timeout", &UpstreamConfig::fail_timeout},
      {"resolve_interval", &UpstreamConfig::resolve_interval}};
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
                         "host_header", "max_fails", "fail_timeout", "tls", "health_check",
                         "resolve_interval"});
    if (const auto servers = map.require("servers")) {
      readServers(diag, *servers, upstream);
    }
    if (const auto pool = map.get("pool")) {
      readPool(diag, *pool, upstream);
    }
    readUpstreamScalars(diag, map, upstream);
    if (const auto tls = map.get("tls")) {
      upstream.tls = yaml::readUpstreamTls(diag, *tls);
    }
    if (const auto check = map.get("health_check")) {
      upstream.health_check = yaml::readHealthCheck(diag, *check);
    }
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

// A route whose exact path is the batch path could never be reached: every request to that
// path is taken as a batch (and anything but POST gets 405).
void checkBatchPathIsNoRoutePath(Diagnostics& diag, const Field& batch_field,
                                 const Config& config) {
  if (!config.batch.enabled || !batch_field.node.IsMap()) {
    return;
  }
  for (const Route& route : config.routes) {
    if (route.match.path_kind != PathMatchKind::Exact || route.match.path != config.batch.path) {
      continue;
    }
    Field where = batch_field;
    for (const auto& entry : batch_field.node) {
      if (entry.first.IsScalar() && entry.first.Scalar() == "path") {
        where = batch_field.child(entry.first, entry.second);
      }
    }
    diag.add(where, "\"" + config.batch.path + "\" is also the path of the route at line " +
                        std::to_string(route.source_line) +
                        ", which would never be reached: requests to it are batches");
  }
}

void readTopLevel(Diagnostics& diag, const YAML::Node& root, Config& config) {
  const Field field{root, "", YAML::Mark::null_mark()};
  const MapFields map(diag, field,
                      {"listen", "workers", "limits", "client_timeouts", "upstreams", "cache",
                       "compression", "batch", "route_classes", "routes", "invalidation",
                       "admin", "access_log"});
  if (!map.isMap()) {
    return;
  }
  if (const auto value = map.require("listen")) {
    yaml::readListen(diag, *value, config);
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
  if (const auto value = map.get("compression")) {
    yaml::readCompression(diag, *value, config.compression);
  }
  const auto batch = map.get("batch");
  if (batch) {
    yaml::readBatch(diag, *batch, config.batch);
  }
  if (const auto value = map.get("route_classes")) {
    yaml::readRouteClasses(diag, *value, config);
  }
  if (const auto value = map.require("routes")) {
    yaml::readRoutes(diag, *value, config);
    if (batch) {
      checkBatchPathIsNoRoutePath(diag, *batch, config);
    }
  }
  if (const auto value = map.get("invalidation")) {
    yaml::readInvalidation(diag, *value, config.invalidation.emplace());
  }
  if (const auto value = map.get("access_log")) {
    yaml::readAccessLog(diag, *value, config.access_log.emplace());
  }
  if (const auto value = map.get("admin")) {
    yaml::readAdmin(diag, *value, config.listen, config.admin.emplace());
  }
}

// Where the second document of a stream starts, if it has one. yaml-cpp 0.7's LoadAll never
// returns on some malformed streams (a document that starts with ','; yaml-cpp issue 1040): it
// yields empty documents forever. So documents are counted with the parser, up to two.
class SecondDocument final : public YAML::EventHandler {
 public:
  static std::optional<YAML::Mark> find(std::string_view text) {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    SecondDocument counter;
    for (int document = 0; document < 2 && parser.HandleNextDocument(counter); ++document) {
    }
    return counter.second_;
  }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) {
      second_ = mark;
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  int documents_ = 0;
  std::optional<YAML::Mark> second_;
};

void readDocument(Diagnostics& diag, std::string_view text, Config& config) {
  if (const auto second = SecondDocument::find(text)) {
    diag.add(*second, "", "expected one YAML document; a second one starts here");
  }
  const YAML::Node document = YAML::Load(std::string(text));  // the first document only
  if (document.IsNull()) {
    diag.add(YAML::Mark(), "", "the configuration is empty; expected listen, upstreams and routes");
    return;
  }
  readTopLevel(diag, document, config);
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
    readDocument(diag, yaml_text, *config);
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
