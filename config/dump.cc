#include "config/dump.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace edge::config {
namespace {

// One top-level section: writes its key and value, or nothing when the section is unset.
// A new section of the loader is one more function here and one more line in kSections.
using SectionDump = void (*)(YAML::Emitter& out, const Config& config);

struct Unit {
  std::string_view suffix;
  uint64_t factor;
};

// Largest unit first: the first that divides the value exactly gives the shortest form.
std::string withLargestUnit(uint64_t value, std::string_view zero,
                            const std::vector<Unit>& units) {
  if (value == 0) {
    return std::string(zero);
  }
  for (const Unit& unit : units) {
    if (value % unit.factor == 0) {
      return std::to_string(value / unit.factor) + std::string(unit.suffix);
    }
  }
  return std::to_string(value);
}

template <typename T>
void put(YAML::Emitter& out, std::string_view key, const T& value) {
  out << YAML::Key << std::string(key) << YAML::Value << value;
}

// `key:` followed by a block map the caller fills and ends with YAML::EndMap.
void beginMap(YAML::Emitter& out, std::string_view key) {
  out << YAML::Key << std::string(key) << YAML::Value << YAML::BeginMap;
}

void putDuration(YAML::Emitter& out, std::string_view key, Millis value) {
  put(out, key, formatDuration(value));
}

void putSize(YAML::Emitter& out, std::string_view key, uint64_t value) {
  put(out, key, formatByteSize(value));
}

void putList(YAML::Emitter& out, std::string_view key, const std::vector<std::string>& items) {
  out << YAML::Key << std::string(key) << YAML::Value << YAML::Flow << items;
}

std::string versionText(TlsVersion version) { return version == TlsVersion::Tls13 ? "1.3" : "1.2"; }

void putVersion(YAML::Emitter& out, TlsVersion version) {
  out << YAML::Key << "min_version" << YAML::Value << YAML::DoubleQuoted << versionText(version);
}

// --- listen ---------------------------------------------------------------------------------

void putTlsListener(YAML::Emitter& out, const TlsListenerConfig& tls) {
  out << YAML::BeginMap;
  out << YAML::Key << "certificates" << YAML::Value << YAML::BeginSeq;
  for (const CertificateFiles& files : tls.certificates) {
    out << YAML::Flow << YAML::BeginMap;
    put(out, "cert", files.cert.path);
    put(out, "key", files.key.path);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  putVersion(out, tls.min_version);
  if (!tls.ciphers.empty()) {  // empty: OpenSSL's secure defaults, which have no name
    put(out, "ciphers", tls.ciphers);
  }
  putList(out, "alpn", tls.alpn);
  if (tls.client_ca) {  // client_verify is only valid next to client_ca
    put(out, "client_ca", tls.client_ca->path);
    put(out, "client_verify", tls.client_cert_required ? "required" : "optional");
  }
  put(out, "client_subject_header", tls.client_subject_header);
  put(out, "strict_sni", tls.strict_sni);
  putDuration(out, "handshake_timeout", tls.handshake_timeout);
  put(out, "session_tickets", tls.session_tickets);
  out << YAML::EndMap;
}

void dumpListen(YAML::Emitter& out, const Config& config) {
  out << YAML::Key << "listen" << YAML::Value << YAML::BeginSeq;
  for (const ListenConfig& listen : config.listen) {
    if (!listen.tls) {
      out << listen.address.str();
      continue;
    }
    out << YAML::BeginMap;
    put(out, "address", listen.address.str());
    out << YAML::Key << "tls" << YAML::Value;
    putTlsListener(out, *listen.tls);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

// --- workers, limits, client_timeouts --------------------------------------------------------

void dumpWorkers(YAML::Emitter& out, const Config& config) {
  if (config.workers == 0) {
    put(out, "workers", "auto");
  } else {
    put(out, "workers", config.workers);
  }
}

void dumpLimits(YAML::Emitter& out, const Config& config) {
  beginMap(out, "limits");
  putSize(out, "max_header_bytes", config.limits.max_header_bytes);
  putSize(out, "max_request_body", config.limits.max_request_body);
  put(out, "max_tunnels", config.limits.max_tunnels);
  out << YAML::EndMap;
}

void dumpClientTimeouts(YAML::Emitter& out, const Config& config) {
  const ClientTimeouts& timeouts = config.client_timeouts;
  beginMap(out, "client_timeouts");
  putDuration(out, "header", timeouts.header);
  putDuration(out, "body_idle", timeouts.body_idle);
  putDuration(out, "keepalive", timeouts.keepalive);
  putDuration(out, "send_idle", timeouts.send_idle);
  putDuration(out, "drain", timeouts.drain);
  putDuration(out, "drain_delay", timeouts.drain_delay);
  putDuration(out, "tunnel_idle", timeouts.tunnel_idle);
  out << YAML::EndMap;
}

// --- upstreams -------------------------------------------------------------------------------

void putUpstreamTls(YAML::Emitter& out, const UpstreamTlsConfig& tls) {
  beginMap(out, "tls");
  if (tls.ca) {  // unset: the system's trust store
    put(out, "ca", tls.ca->path);
  }
  put(out, "verify", tls.verify);
  if (!tls.server_name.empty()) {  // empty: host_header, else the server's host
    put(out, "server_name", tls.server_name);
  }
  if (tls.client_cert && tls.client_key) {
    put(out, "client_cert", tls.client_cert->path);
    put(out, "client_key", tls.client_key->path);
  }
  putVersion(out, tls.min_version);
  out << YAML::EndMap;
}

void putHealthCheck(YAML::Emitter& out, const HealthCheckConfig& check) {
  beginMap(out, "health_check");
  put(out, "path", check.path);
  putDuration(out, "interval", check.interval);
  putDuration(out, "timeout", check.timeout);
  put(out, "healthy_threshold", check.healthy_threshold);
  put(out, "unhealthy_threshold", check.unhealthy_threshold);
  std::vector<std::string> statuses;
  for (const auto& [low, high] : check.expected_statuses) {
    statuses.push_back(low == high ? std::to_string(low)
                                   : std::to_string(low) + "-" + std::to_string(high));
  }
  putList(out, "expected_statuses", statuses);
  if (!check.host.empty()) {
    put(out, "host", check.host);
  }
  out << YAML::EndMap;
}

void putUpstream(YAML::Emitter& out, const UpstreamConfig& upstream) {
  beginMap(out, upstream.name);
  out << YAML::Key << "servers" << YAML::Value << YAML::BeginSeq;
  for (const HostPort& server : upstream.servers) {
    out << server.str();
  }
  out << YAML::EndSeq;
  putDuration(out, "connect_timeout", upstream.connect_timeout);
  putDuration(out, "first_byte_timeout", upstream.first_byte_timeout);
  putDuration(out, "idle_timeout", upstream.idle_timeout);
  beginMap(out, "pool");
  put(out, "max_idle", upstream.pool_max_idle);
  putDuration(out, "idle_timeout", upstream.pool_idle_timeout);
  out << YAML::EndMap;
  if (upstream.host_header) {  // unset: the client's Host is kept
    put(out, "host_header", *upstream.host_header);
  }
  put(out, "max_fails", upstream.max_fails);
  putDuration(out, "fail_timeout", upstream.fail_timeout);
  if (upstream.tls) {
    putUpstreamTls(out, *upstream.tls);
  }
  putDuration(out, "resolve_interval", upstream.resolve_interval);
  if (upstream.health_check) {
    putHealthCheck(out, *upstream.health_check);
  }
  out << YAML::EndMap;
}

void dumpUpstreams(YAML::Emitter& out, const Config& config) {
  beginMap(out, "upstreams");
  for (const UpstreamConfig& upstream : config.upstreams) {
    putUpstream(out, upstream);
  }
  out << YAML::EndMap;
}

// --- cache, compression, batch ---------------------------------------------------------------

void dumpCache(YAML::Emitter& out, const Config& config) {
  beginMap(out, "cache");
  putSize(out, "memory", config.cache.memory);
  put(out, "shards", config.cache.shards);
  putDuration(out, "lock_timeout", config.cache.lock_timeout);
  putDuration(out, "hit_for_miss", config.cache.hit_for_miss);
  out << YAML::EndMap;
}

void dumpCompression(YAML::Emitter& out, const Config& config) {
  const CompressionConfig& compression = config.compression;
  beginMap(out, "compression");
  put(out, "enabled", compression.enabled);
  putSize(out, "min_size", compression.min_size);
  putList(out, "types", compression.types);
  put(out, "gzip_level", compression.gzip_level);
  put(out, "brotli_quality", compression.brotli_quality);
  put(out, "stream_gzip_level", compression.stream_gzip_level);
  put(out, "stream_brotli_quality", compression.stream_brotli_quality);
  put(out, "stream_brotli_window", compression.stream_brotli_window);
  out << YAML::EndMap;
}

void dumpBatch(YAML::Emitter& out, const Config& config) {
  const BatchConfig& batch = config.batch;
  beginMap(out, "batch");
  put(out, "enabled", batch.enabled);
  put(out, "path", batch.path);
  put(out, "max_items", batch.max_items);
  putSize(out, "max_request_size", batch.max_request_size);
  putSize(out, "max_response_size", batch.max_response_size);
  putDuration(out, "item_timeout", batch.item_timeout);
  put(out, "concurrency", batch.concurrency);
  putList(out, "inherit_headers", batch.inherit_headers);
  out << YAML::EndMap;
}

// --- route_classes ---------------------------------------------------------------------------

void putCacheKey(YAML::Emitter& out, const CacheKeyConfig& key) {
  beginMap(out, "key");
  const bool include = key.query_mode == CacheKeyConfig::QueryMode::IncludeOnly;
  putList(out, include ? "query_include" : "query_ignore", key.query_params);
  putList(out, "headers", key.headers);
  put(out, "per_credential", key.per_credential);
  if (!key.tenant_header.empty()) {  // empty: no tenant scoping
    put(out, "tenant_header", key.tenant_header);
  }
  out << YAML::EndMap;
}

void putFields(YAML::Emitter& out, const FieldsConfig& fields) {
  beginMap(out, "fields");
  put(out, "enabled", fields.enabled);
  out << YAML::Key << "envelope" << YAML::Value;
  if (fields.envelope.empty()) {
    out << YAML::Null;  // no envelope: the selection applies at the top
  } else {
    out << fields.envelope;
  }
  put(out, "memoize", fields.memoize);
  out << YAML::EndMap;
}

void putRouteClass(YAML::Emitter& out, const RouteClass& route_class) {
  beginMap(out, route_class.name);
  put(out, "cache", route_class.cache);
  putDuration(out, "ttl", route_class.ttl);
  put(out, "override_origin", route_class.override_origin);
  putDuration(out, "stale_while_revalidate", route_class.stale_while_revalidate);
  putDuration(out, "stale_if_error", route_class.stale_if_error);
  put(out, "heuristic_freshness", route_class.heuristic_freshness);
  putCacheKey(out, route_class.key);
  putList(out, "vary", route_class.vary);
  out << YAML::Key << "statuses" << YAML::Value << YAML::Flow << route_class.statuses;
  putSize(out, "max_object_size", route_class.max_object_size);
  put(out, "store_set_cookie", route_class.store_set_cookie);
  putList(out, "tags", route_class.tags);
  put(out, "generate_etag", route_class.generate_etag);
  put(out, "compress_on_store", route_class.compress_on_store);
  putFields(out, route_class.fields);
  out << YAML::EndMap;
}

// The built-in "default" class, added for routes that name none, is listed like any other.
void dumpRouteClasses(YAML::Emitter& out, const Config& config) {
  beginMap(out, "route_classes");
  for (const RouteClass& route_class : config.route_classes) {
    putRouteClass(out, route_class);
  }
  out << YAML::EndMap;
}

// --- routes ----------------------------------------------------------------------------------

void putMatch(YAML::Emitter& out, const RouteMatch& match) {
  beginMap(out, "match");
  if (!match.hosts.empty()) {
    putList(out, "hosts", match.hosts);
  }
  if (match.path_kind == PathMatchKind::Prefix) {
    put(out, "path_prefix", match.path);
  } else if (match.path_kind != PathMatchKind::Any) {
    put(out, "path", match.path);  // an exact path or a {param} template
  }
  if (!match.methods.empty()) {
    putList(out, "methods", match.methods);
  }
  out << YAML::EndMap;
}

void dumpRoutes(YAML::Emitter& out, const Config& config) {
  out << YAML::Key << "routes" << YAML::Value << YAML::BeginSeq;
  for (const Route& route : config.routes) {
    out << YAML::BeginMap;
    putMatch(out, route.match);
    put(out, "upstream", config.upstreamOf(route).name);
    put(out, "class", config.classOf(route).name);
    putList(out, "upgrade", route.upgrade);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
}

// --- invalidation, admin ---------------------------------------------------------------------

void putRedis(YAML::Emitter& out, const RedisConfig& redis) {
  beginMap(out, "redis");
  put(out, "address", redis.str());
  if (!redis.username.empty()) {
    put(out, "username", redis.username);
  }
  if (!redis.password.empty()) {
    put(out, "password", kRedacted);
  }
  if (!redis.password_env.empty()) {
    put(out, "password_env", redis.password_env);
  }
  put(out, "database", redis.database);
  putDuration(out, "connect_timeout", redis.connect_timeout);
  out << YAML::EndMap;
}

std::string gapPolicyText(GapPolicy policy) {
  switch (policy) {
    case GapPolicy::RevalidateAll:
      return "revalidate_all";
    case GapPolicy::PurgeAll:
      return "purge_all";
    case GapPolicy::Ignore:
      return "ignore";
  }
  return "revalidate_all";
}

// Only the keys of the configured mode: the loader refuses the other mode's keys.
void putModeKeys(YAML::Emitter& out, const InvalidationConfig& invalidation) {
  if (invalidation.mode == InvalidationMode::PubSub) {
    put(out, "mode", "pubsub");
    putList(out, "channels", invalidation.channels);
    putList(out, "channel_patterns", invalidation.channel_patterns);
    return;
  }
  put(out, "mode", "stream");
  beginMap(out, "stream");
  put(out, "key", invalidation.stream_key);
  put(out, "field", invalidation.stream_field);
  putDuration(out, "block", invalidation.stream_block);
  put(out, "count", invalidation.stream_count);
  out << YAML::EndMap;
}

void dumpInvalidation(YAML::Emitter& out, const Config& config) {
  if (!config.invalidation) {
    return;
  }
  const InvalidationConfig& invalidation = *config.invalidation;
  beginMap(out, "invalidation");
  putRedis(out, invalidation.redis);
  putModeKeys(out, invalidation);
  put(out, "gap_policy", gapPolicyText(invalidation.gap_policy));
  beginMap(out, "reconnect");
  putDuration(out, "min_delay", invalidation.reconnect_min);
  putDuration(out, "max_delay", invalidation.reconnect_max);
  out << YAML::EndMap;
  putSize(out, "max_message_size", invalidation.max_message_size);
  out << YAML::EndMap;
}

void dumpAdmin(YAML::Emitter& out, const Config& config) {
  if (!config.admin) {
    return;
  }
  const AdminConfig& admin = *config.admin;
  beginMap(out, "admin");
  put(out, "listen", HostPort{admin.host, admin.port}.str());
  put(out, "token_env", admin.token_env);
  put(out, "allow_remote", admin.allow_remote);
  putSize(out, "max_body", admin.max_body);
  put(out, "health_requires_token", admin.health_requires_token);
  out << YAML::EndMap;
}

// In the order of config/examples/edge.yaml.
void dumpAccessLog(YAML::Emitter& out, const Config& config) {
  if (!config.access_log) {
    return;
  }
  const AccessLogConfig& log = *config.access_log;
  beginMap(out, "access_log");
  put(out, "enabled", log.enabled);
  put(out, "path", log.path);
  put(out, "format", std::string(log.format == AccessLogConfig::Format::Json ? "json" : "combined"));
  put(out, "sample", log.sample);
  putDuration(out, "flush_interval", log.flush_interval);
  putSize(out, "buffer_size", log.buffer_size);
  out << YAML::EndMap;
}

constexpr std::array<SectionDump, 13> kSections = {
    dumpListen,      dumpWorkers,      dumpLimits, dumpClientTimeouts, dumpUpstreams,
    dumpCache,       dumpCompression,  dumpBatch,  dumpRouteClasses,   dumpRoutes,
    dumpInvalidation, dumpAdmin,       dumpAccessLog};

// A file name on one comment line.
std::string oneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') {
      c = ' ';
    }
  }
  return text;
}

}  // namespace

std::string formatDuration(Millis duration) {
  static const std::vector<Unit> kUnits = {
      {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1}};
  return withLargestUnit(static_cast<uint64_t>(duration.count()), "0s", kUnits);
}

std::string formatByteSize(uint64_t bytes) {
  static const std::vector<Unit> kUnits = {{"g", 1ull << 30}, {"m", 1ull << 20}, {"k", 1ull << 10}};
  return withLargestUnit(bytes, "0", kUnits);
}

std::string dumpConfig(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const SectionDump dump : kSections) {
    dump(out, config);
  }
  out << YAML::EndMap;
  return "# Effective configuration with defaults, loaded from " + oneLine(config.source) +
         "\n# Secrets are not printed: a literal Redis password shows as \"" + kRedacted +
         "\".\n" + out.c_str() + "\n";
}

}  // namespace edge::config
