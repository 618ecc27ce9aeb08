// The dump of a config, loaded again, gives the same config: dump(load(dump(x))) == dump(x),
// and typed values survive the trip.
#include "config/dump.h"

#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"
#include "config_test_support.h"

namespace edge::config {
namespace {

using test_support::formatted;
using test_support::kExamplePath;

struct RoundTrip {
  ConfigPtr original;
  ConfigPtr reloaded;
  std::string first;   // dump(original)
  std::string second;  // dump(reloaded)
};

RoundTrip roundTrip(const LoadResult& loaded) {
  RoundTrip trip;
  EXPECT_TRUE(loaded.ok()) << ::testing::PrintToString(formatted(loaded));
  if (!loaded.ok()) {
    return trip;
  }
  trip.original = loaded.config;
  trip.first = dumpConfig(*trip.original);
  // Loaded under the same name, so the header line naming the source is the same too.
  const LoadResult again = loadConfigString(trip.first, trip.original->source);
  EXPECT_TRUE(again.ok()) << ::testing::PrintToString(formatted(again)) << "\n" << trip.first;
  if (again.ok()) {
    trip.reloaded = again.config;
    trip.second = dumpConfig(*trip.reloaded);
  }
  return trip;
}

RoundTrip roundTrip(const std::string& yaml) { return roundTrip(loadConfigString(yaml, "t.yaml")); }

// A listener terminating TLS, an upstream speaking TLS, pub/sub invalidation, admin, every kind
// of route match, upgrade lists, tags, key settings, fields, compression, batch, limits and
// client timeouts, mostly away from their defaults.
const std::string kEverything = R"(
listen:
  - ":8080"
  - "[::1]:0"
  - address: 127.0.0.1:8443
    tls:
      certificates:
        - { cert: /etc/edge/a.pem, key: /etc/edge/a.key }
        - { cert: /etc/edge/b.pem, key: /etc/edge/b.key }
      min_version: "1.3"
      ciphers: ECDHE-RSA-AES128-GCM-SHA256
      alpn: []
      client_ca: /etc/edge/clients.pem
      client_verify: optional
      client_subject_header: X-Subject
      strict_sni: true
      handshake_timeout: 1500ms
      session_tickets: false
workers: 3
limits: { max_header_bytes: 1025, max_request_body: 0, max_tunnels: 7 }
client_timeouts:
  header: 90s
  body_idle: 2m
  keepalive: 1h
  send_idle: 36h
  drain: 3d
  drain_delay: 250ms
  tunnel_idle: 61s
upstreams:
  app:
    servers: [127.0.0.1:3000, "[::1]:3001", origin.internal:80]
    connect_timeout: 1s
    first_byte_timeout: 45s
    idle_timeout: 5m
    pool: { max_idle: 0, idle_timeout: 999ms }
    host_header: api.internal
    max_fails: 9
    fail_timeout: 20s
    tls:
      ca: /etc/edge/origin-ca.pem
      verify: false
      server_name: api.internal
      client_cert: /etc/edge/proxy.pem
      client_key: /etc/edge/proxy.key
      min_version: "1.3"
  plain:
    servers: [10.0.0.1:81]
    tls: { enabled: false }
  system_trust:
    servers: [10.0.0.2:443]
    tls: {}
cache: { memory: 1g, shards: 3, lock_timeout: 1500ms, hit_for_miss: 0s }
compression:
  enabled: false
  min_size: 1536
  types: [Text/Plain]
  gzip_level: 1
  brotli_quality: 0
  stream_gzip_level: 9
  stream_brotli_quality: 11
  stream_brotli_window: 24
batch:
  enabled: false
  path: /batch
  max_items: 1000
  max_request_size: 2
  max_response_size: 3m
  item_timeout: 1d
  concurrency: 1
  inherit_headers: []
route_classes:
  tagged:
    ttl: 0s
    override_origin: true
    stale_while_revalidate: 1m
    stale_if_error: 10ms
    heuristic_freshness: true
    key:
      query_include: [q, "page*"]
      headers: [X-Tenant, accept]
      per_credential: true
      tenant_header: X-Org-Id
    vary: []
    statuses: [200, 599]
    max_object_size: 1
    store_set_cookie: true
    tags: ["org:{header.X-Org-Id}:wo:{path.3}", "{query.site}", sites]
    generate_etag: true
    compress_on_store: true
    fields: { enabled: true, envelope: ~, memoize: false }
  ignoring:
    cache: false
    key: { query_ignore: [] }
    fields: false
  wrapped:
    fields: { envelope: items }
routes:
  - match: { host: "*.example.com", path: /exact, methods: [get, HEAD] }
    upstream: app
    class: tagged
    upgrade: []
  - match: { hosts: [api.example.com, "[::1]", 10.1.2.3], path: "/items/{id}/parts/{part}" }
    upstream: plain
    class: ignoring
    upgrade: [WebSocket, h2c]
  - match: { path_prefix: /static/ }
    upstream: system_trust
  - upstream: app
    class: wrapped
invalidation:
  redis:
    address: "[::1]:6380"
    username: edge
    password_env: REDIS_PASSWORD
    database: 7
    connect_timeout: 2s
  mode: pubsub
  channels: []
  channel_patterns: ["invalidate:*", "purge.*"]
  gap_policy: ignore
  reconnect: { min_delay: 1s, max_delay: 1s }
  max_message_size: 64
admin:
  listen: "[::1]:9999"
  token_env: ADMIN_TOKEN
  allow_remote: false
  max_body: 64m
  health_requires_token: true
)";

// Stream-mode invalidation over a unix socket, with an admin listener on another host.
const std::string kStream = R"(
listen: 0.0.0.0:80
upstreams:
  app: { servers: [127.0.0.1:3000] }
routes:
  - upstream: app
invalidation:
  redis: { address: "unix:/run/redis/redis.sock" }
  mode: stream
  stream: { key: purges, field: body, block: 2s, count: 1 }
  gap_policy: purge_all
admin:
  listen: 0.0.0.0:9091
  allow_remote: true
)";

TEST(DumpFormat, DurationsUseTheLargestUnitThatIsExact) {
  EXPECT_EQ(formatDuration(Millis(0)), "0s");
  EXPECT_EQ(formatDuration(Millis(250)), "250ms");
  EXPECT_EQ(formatDuration(Millis(1500)), "1500ms");
  EXPECT_EQ(formatDuration(Millis(10'000)), "10s");
  EXPECT_EQ(formatDuration(Millis(90'000)), "90s");
  EXPECT_EQ(formatDuration(Millis(300'000)), "5m");
  EXPECT_EQ(formatDuration(Millis(3'600'000)), "1h");
  EXPECT_EQ(formatDuration(Millis(365LL * 86'400'000)), "365d");
}

TEST(DumpFormat, ByteSizesUseTheLargestUnitThatIsExact) {
  EXPECT_EQ(formatByteSize(0), "0");
  EXPECT_EQ(formatByteSize(1000), "1000");
  EXPECT_EQ(formatByteSize(1536), "1536");
  EXPECT_EQ(formatByteSize(32 * 1024), "32k");
  EXPECT_EQ(formatByteSize(8ull << 20), "8m");
  EXPECT_EQ(formatByteSize(3ull << 30), "3g");
  EXPECT_EQ(formatByteSize((1ull << 30) + 1024), "1048577k");
}

TEST(Dump, StartsWithCommentsNamingTheSourceAndTheRedaction) {
  const RoundTrip trip = roundTrip(test_support::minimal());
  ASSERT_NE(trip.original, nullptr);
  EXPECT_EQ(trip.first.rfind("# Effective configuration with defaults, loaded from t.yaml\n"
                             "# Secrets are not printed",
                             0),
            0u)
      << trip.first;
}

TEST(Dump, TheExampleConfigSurvivesTheRoundTrip) {
  const RoundTrip trip = roundTrip(loadConfigFile(kExamplePath));
  ASSERT_NE(trip.reloaded, nullptr);
  EXPECT_EQ(trip.second, trip.first);
  const Config& a = *trip.original;
  const Config& b = *trip.reloaded;
  EXPECT_EQ(b.listen, a.listen);
  EXPECT_EQ(b.upstreams, a.upstreams);
  EXPECT_EQ(b.invalidation, a.invalidation);
  EXPECT_EQ(b.admin, a.admin);
  ASSERT_EQ(b.routes.size(), a.routes.size());
  for (size_t i = 0; i < a.routes.size(); ++i) {
    EXPECT_EQ(b.classOf(b.routes[i]).name, a.classOf(a.routes[i]).name) << "route " << i;
    EXPECT_EQ(b.routes[i].match.path, a.routes[i].match.path) << "route " << i;
    EXPECT_EQ(b.routes[i].match.path_kind, a.routes[i].match.path_kind) << "route " << i;
  }
  EXPECT_EQ(b.route_classes[0].ttl, Millis(365LL * 86'400'000));
  EXPECT_EQ(b.cache.memory, 256ull << 20);
}

TEST(Dump, DefaultsTheFileLeavesOutAreWritten) {
  const RoundTrip trip = roundTrip(test_support::minimal());
  ASSERT_NE(trip.reloaded, nullptr);
  EXPECT_EQ(trip.second, trip.first);
  for (const char* line : {"workers: auto", "  max_header_bytes: 32k", "  tunnel_idle: 1h",
                           "  memory: 256m", "  default:", "    class: default",
                           "  path: /api/v1/batch", "  stream_brotli_window: 18"}) {
    EXPECT_NE(trip.first.find(std::string("\n") + line + "\n"), std::string::npos)
        << line << " in\n" << trip.first;
  }
  // Sections that are off by default stay off.
  EXPECT_EQ(trip.first.find("invalidation:"), std::string::npos);
  EXPECT_EQ(trip.first.find("admin:"), std::string::npos);
  EXPECT_FALSE(trip.reloaded->invalidation.has_value());
  EXPECT_FALSE(trip.reloaded->admin.has_value());
}

TEST(Dump, EverySectionAwayFromItsDefaultsSurvivesTheRoundTrip) {
  const RoundTrip trip = roundTrip(kEverything);
  ASSERT_NE(trip.reloaded, nullptr);
  EXPECT_EQ(trip.second, trip.first);
  const Config& a = *trip.original;
  const Config& b = *trip.reloaded;

  ASSERT_EQ(b.listen.size(), 3u);
  EXPECT_EQ(b.listen[0].address, (HostPort{"0.0.0.0", 8080}));
  EXPECT_EQ(b.listen[1].address, (HostPort{"::1", 0}));
  ASSERT_TRUE(b.listen[2].tls.has_value());
  const TlsListenerConfig& tls = *b.listen[2].tls;
  EXPECT_EQ(tls.certificates.size(), 2u);
  EXPECT_EQ(tls.certificates[1].key.path, "/etc/edge/b.key");
  EXPECT_EQ(tls.min_version, TlsVersion::Tls13);
  EXPECT_EQ(tls.ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_TRUE(tls.alpn.empty());
  EXPECT_EQ(tls.client_ca->path, "/etc/edge/clients.pem");
  EXPECT_FALSE(tls.client_cert_required);
  EXPECT_EQ(tls.client_subject_header, "x-subject");
  EXPECT_TRUE(tls.strict_sni);
  EXPECT_EQ(tls.handshake_timeout, Millis(1500));
  EXPECT_FALSE(tls.session_tickets);

  EXPECT_EQ(b.workers, 3u);
  EXPECT_EQ(b.limits.max_header_bytes, 1025u);
  EXPECT_EQ(b.limits.max_request_body, 0u);
  EXPECT_EQ(b.limits.max_tunnels, 7u);
  EXPECT_EQ(b.client_timeouts.send_idle, Millis(36 * 3'600'000));
  EXPECT_EQ(b.client_timeouts.drain, Millis(3 * 86'400'000));
  EXPECT_EQ(b.client_timeouts.drain_delay, Millis(250));
  EXPECT_EQ(b.client_timeouts.tunnel_idle, Millis(61'000));

  ASSERT_EQ(b.upstreams.size(), 3u);
  EXPECT_EQ(b.upstreams[0].servers, a.upstreams[0].servers);
  EXPECT_EQ(b.upstreams[0].pool_max_idle, 0u);
  EXPECT_EQ(b.upstreams[0].pool_idle_timeout, Millis(999));
  EXPECT_EQ(b.upstreams[0].host_header, "api.internal");
  EXPECT_EQ(b.upstreams[0].max_fails, 9u);
  ASSERT_TRUE(b.upstreams[0].tls.has_value());
  EXPECT_FALSE(b.upstreams[0].tls->verify);
  EXPECT_EQ(b.upstreams[0].tls->ca->path, "/etc/edge/origin-ca.pem");
  EXPECT_EQ(b.upstreams[0].tls->client_key->path, "/etc/edge/proxy.key");
  EXPECT_EQ(b.upstreams[0].tls->min_version, TlsVersion::Tls13);
  EXPECT_FALSE(b.upstreams[1].tls.has_value());
  ASSERT_TRUE(b.upstreams[2].tls.has_value());
  EXPECT_FALSE(b.upstreams[2].tls->ca.has_value());

  EXPECT_EQ(b.cache.memory, 1ull << 30);
  EXPECT_EQ(b.cache.hit_for_miss, Millis(0));
  EXPECT_FALSE(b.compression.enabled);
  EXPECT_EQ(b.compression.min_size, 1536u);
  EXPECT_EQ(b.compression.types, std::vector<std::string>{"text/plain"});
  EXPECT_EQ(b.compression.stream_brotli_window, 24);
  EXPECT_FALSE(b.batch.enabled);
  EXPECT_EQ(b.batch.path, "/batch");
  EXPECT_EQ(b.batch.max_request_size, 2u);
  EXPECT_TRUE(b.batch.inherit_headers.empty());

  ASSERT_EQ(b.route_classes.size(), 4u);  // the three above and the built-in default
  const RouteClass& tagged = b.route_classes[0];
  EXPECT_TRUE(tagged.override_origin);
  EXPECT_EQ(tagged.stale_if_error, Millis(10));
  EXPECT_EQ(tagged.key.query_mode, CacheKeyConfig::QueryMode::IncludeOnly);
  EXPECT_EQ(tagged.key.query_params, (std::vector<std::string>{"q", "page*"}));
  EXPECT_EQ(tagged.key.headers, (std::vector<std::string>{"x-tenant", "accept"}));
  EXPECT_TRUE(tagged.key.per_credential);
  EXPECT_EQ(tagged.key.tenant_header, "x-org-id");
  EXPECT_TRUE(tagged.vary.empty());
  EXPECT_EQ(tagged.statuses, (std::vector<int>{200, 599}));
  EXPECT_EQ(tagged.max_object_size, 1u);
  EXPECT_EQ(tagged.tags, a.route_classes[0].tags);
  EXPECT_EQ(tagged.tags[0], "org:{header.x-org-id}:wo:{path.3}");
  EXPECT_EQ(tagged.fields.envelope, "");
  EXPECT_FALSE(tagged.fields.memoize);
  const RouteClass& ignoring = b.route_classes[1];
  EXPECT_FALSE(ignoring.cache);
  EXPECT_EQ(ignoring.key.query_mode, CacheKeyConfig::QueryMode::IgnoreListed);
  EXPECT_TRUE(ignoring.key.query_params.empty());
  EXPECT_FALSE(ignoring.fields.enabled);
  EXPECT_EQ(b.route_classes[2].fields.envelope, "items");
  EXPECT_EQ(b.route_classes[3].name, "default");

  ASSERT_EQ(b.routes.size(), 4u);
  EXPECT_EQ(b.routes[0].match.hosts, std::vector<std::string>{"*.example.com"});
  EXPECT_EQ(b.routes[0].match.path_kind, PathMatchKind::Exact);
  EXPECT_EQ(b.routes[0].match.methods, (std::vector<std::string>{"GET", "HEAD"}));
  EXPECT_TRUE(b.routes[0].upgrade.empty());
  EXPECT_EQ(b.routes[1].match.hosts, a.routes[1].match.hosts);
  EXPECT_EQ(b.routes[1].match.path_kind, PathMatchKind::Template);
  EXPECT_EQ(b.routes[1].upgrade, (std::vector<std::string>{"websocket", "h2c"}));
  EXPECT_EQ(b.upstreamOf(b.routes[1]).name, "plain");
  EXPECT_EQ(b.routes[2].match.path_kind, PathMatchKind::Prefix);
  EXPECT_EQ(b.classOf(b.routes[2]).name, "default");
  EXPECT_EQ(b.routes[3].match.path_kind, PathMatchKind::Any);
  EXPECT_TRUE(b.routes[3].match.hosts.empty());
  EXPECT_EQ(b.routes[3].upgrade, std::vector<std::string>{"websocket"});

  EXPECT_EQ(b.invalidation, a.invalidation);
  EXPECT_EQ(b.invalidation->redis.host, "::1");
  EXPECT_EQ(b.invalidation->channel_patterns.size(), 2u);
  EXPECT_EQ(b.admin, a.admin);
  EXPECT_EQ(b.admin->port, 9999);
}

TEST(Dump, StreamModeInvalidationOverAUnixSocketSurvivesTheRoundTrip) {
  const RoundTrip trip = roundTrip(kStream);
  ASSERT_NE(trip.reloaded, nullptr);
  EXPECT_EQ(trip.second, trip.first);
  EXPECT_EQ(trip.reloaded->invalidation, trip.original->invalidation);
  EXPECT_EQ(trip.reloaded->invalidation->mode, InvalidationMode::Stream);
  EXPECT_EQ(trip.reloaded->invalidation->redis.unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(trip.reloaded->invalidation->stream_key, "purges");
  EXPECT_EQ(trip.reloaded->invalidation->gap_policy, GapPolicy::PurgeAll);
  EXPECT_EQ(trip.reloaded->admin, trip.original->admin);
  EXPECT_TRUE(trip.reloaded->admin->allow_remote);
}

constexpr const char* kHealthAndLog = R"(
listen: [127.0.0.1:8080]
upstreams:
  app:
    servers: [app.internal:3000, 127.0.0.1:3001]
    resolve_interval: 45s
    health_check:
      path: /healthz?deep=1
      interval: 1500ms
      timeout: 1s
      healthy_threshold: 1
      unhealthy_threshold: 5
      expected_statuses: [200, 2xx, 300-302]
      host: health.internal
routes:
  - match: { path_prefix: / }
    upstream: app
access_log:
  path: /var/log/edge/access.log
  format: combined
  sample: 0.25
  flush_interval: 250ms
  buffer_size: 64k
)";

TEST(Dump, HealthChecksAndTheAccessLogSurviveTheRoundTrip) {
  const RoundTrip trip = roundTrip(kHealthAndLog);
  ASSERT_NE(trip.reloaded, nullptr);
  EXPECT_EQ(trip.second, trip.first);
  EXPECT_EQ(trip.reloaded->upstreams, trip.original->upstreams);
  ASSERT_TRUE(trip.reloaded->upstreams[0].health_check);
  EXPECT_EQ(trip.reloaded->upstreams[0].health_check->host, "health.internal");
  EXPECT_EQ(trip.reloaded->upstreams[0].resolve_interval, std::chrono::seconds(45));
  EXPECT_EQ(trip.reloaded->access_log, trip.original->access_log);
  ASSERT_TRUE(trip.reloaded->access_log);
  EXPECT_EQ(trip.reloaded->access_log->format, AccessLogConfig::Format::Combined);
  EXPECT_DOUBLE_EQ(trip.reloaded->access_log->sample, 0.25);
}

TEST(Dump, ALiteralRedisPasswordIsRedacted) {
  const std::string yaml = test_support::minimal(
      "invalidation:\n"
      "  redis: { address: 127.0.0.1:6379, username: edge, password: s3cret-value }\n");
  const LoadResult loaded = loadConfigString(yaml, "t.yaml");
  ASSERT_TRUE(loaded.ok()) << ::testing::PrintToString(formatted(loaded));
  const std::string dump = dumpConfig(*loaded.config);
  EXPECT_EQ(dump.find("s3cret"), std::string::npos) << dump;
  EXPECT_NE(dump.find("password: <redacted>\n"), std::string::npos) << dump;

  // With the password cleared, the rest of the section survives the round trip.
  Config cleared = *loaded.config;
  cleared.invalidation->redis.password.clear();
  const RoundTrip trip = roundTrip(loadConfigString(dumpConfig(cleared), "t.yaml"));
  ASSERT_NE(trip.reloaded, nullptr);
  EXPECT_EQ(trip.reloaded->invalidation, cleared.invalidation);
}

}  // namespace
}  // namespace edge::config
