// The `cache` section and the caching keys of route classes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "tests/unit/config/config_test_support.h"

namespace edge::config {
namespace {

using test_support::errorsOf;
using test_support::formatted;
using test_support::kExamplePath;
using test_support::load;
using test_support::loaded;

using namespace std::chrono_literals;
using QueryMode = CacheKeyConfig::QueryMode;

// The one class of a config whose `route_classes` section is `classes`.
RouteClass onlyClass(const std::string& classes) {
  const ConfigPtr config = loaded("route_classes:\n" + classes);
  if (!config || config->route_classes.empty()) {
    return RouteClass{};
  }
  return config->route_classes[0];
}

TEST(RouteClassLoaderTest, ReadsEveryKey) {
  const RouteClass api = onlyClass(
      "  api:\n"
      "    ttl: 5m\n"
      "    override_origin: true\n"
      "    stale_while_revalidate: 30s\n"
      "    stale_if_error: 5m\n"
      "    heuristic_freshness: yes\n"
      "    key:\n"
      "      query_ignore: [fields, \"utm_*\"]\n"
      "      headers: [Accept-Language, x-device]\n"
      "      per_credential: true\n"
      "      tenant_header: X-Org-Id\n"
      "    vary: [Accept-Encoding, accept-language]\n"
      "    statuses: [200, 404]\n"
      "    max_object_size: 2m\n"
      "    store_set_cookie: true\n"
      "    tags: [\"org:{header.X-Org-Id}:wo:{path.3}\", \"{query.site}\", sites]\n");
  EXPECT_EQ(api.name, "api");
  EXPECT_TRUE(api.cache);
  EXPECT_EQ(api.ttl, 5min);
  EXPECT_TRUE(api.override_origin);
  EXPECT_EQ(api.stale_while_revalidate, 30s);
  EXPECT_EQ(api.stale_if_error, 5min);
  EXPECT_TRUE(api.heuristic_freshness);
  EXPECT_EQ(api.key.query_mode, QueryMode::IgnoreListed);
  EXPECT_EQ(api.key.query_params, (std::vector<std::string>{"fields", "utm_*"}));
  EXPECT_EQ(api.key.headers, (std::vector<std::string>{"accept-language", "x-device"}));
  EXPECT_TRUE(api.key.per_credential);
  EXPECT_EQ(api.key.tenant_header, "x-org-id");
  EXPECT_EQ(api.vary, (std::vector<std::string>{"accept-encoding", "accept-language"}));
  EXPECT_EQ(api.statuses, (std::vector<int>{200, 404}));
  EXPECT_EQ(api.max_object_size, 2u << 20);
  EXPECT_TRUE(api.store_set_cookie);
  // Header names in placeholders are lower-cased like every other header name.
  EXPECT_EQ(api.tags, (std::vector<std::string>{"org:{header.x-org-id}:wo:{path.3}",
                                                "{query.site}", "sites"}));
}

TEST(RouteClassLoaderTest, OmittedKeysKeepTheirDefaults) {
  const RouteClass defaults;
  const RouteClass api = onlyClass("  api: { ttl: 1m }\n");
  EXPECT_TRUE(api.cache);
  EXPECT_EQ(api.ttl, 1min);
  EXPECT_EQ(api.override_origin, defaults.override_origin);
  EXPECT_EQ(api.stale_while_revalidate, 0ms);
  EXPECT_EQ(api.stale_if_error, 0ms);
  EXPECT_EQ(api.heuristic_freshness, defaults.heuristic_freshness);
  EXPECT_EQ(api.key.query_mode, QueryMode::IgnoreListed);
  EXPECT_EQ(api.key.query_params, defaults.key.query_params);
  EXPECT_TRUE(api.key.headers.empty());
  EXPECT_FALSE(api.key.per_credential);
  EXPECT_EQ(api.key.tenant_header, "");
  EXPECT_EQ(api.vary, defaults.vary);
  EXPECT_EQ(api.statuses, defaults.statuses);
  EXPECT_EQ(api.max_object_size, 8u << 20);
  EXPECT_FALSE(api.store_set_cookie);
  EXPECT_TRUE(api.tags.empty());
}

TEST(RouteClassLoaderTest, ResponseOptionsDefaultOffExceptFields) {
  const RouteClass api = onlyClass("  api: { ttl: 1m }\n");
  EXPECT_FALSE(api.generate_etag);
  EXPECT_FALSE(api.compress_on_store);
  EXPECT_TRUE(api.fields.enabled);
  EXPECT_EQ(api.fields.envelope, "data");
  EXPECT_TRUE(api.fields.memoize);
}

TEST(RouteClassLoaderTest, ReadsResponseOptions) {
  const RouteClass api = onlyClass(
      "  api:\n"
      "    generate_etag: true\n"
      "    compress_on_store: true\n"
      "    fields: { envelope: items, memoize: false }\n");
  EXPECT_TRUE(api.generate_etag);
  EXPECT_TRUE(api.compress_on_store);
  EXPECT_TRUE(api.fields.enabled);
  EXPECT_EQ(api.fields.envelope, "items");
  EXPECT_FALSE(api.fields.memoize);
  EXPECT_FALSE(onlyClass("  api: { fields: false }\n").fields.enabled);
  EXPECT_EQ(onlyClass("  api: { fields: { envelope: null } }\n").fields.envelope, "");
}

TEST(RouteClassErrorTest, BadResponseOptions) {
  EXPECT_EQ(errorsOf("route_classes:\n"
                     "  api:\n"
                     "    generate_etag: yes please\n"
                     "    fields: { enabled: maybe, envelop: data }\n"),
            (std::vector<std::string>{
                "test.yaml:7:20: route_classes.api.generate_etag: expected true or false, got "
                "\"yes please\"",
                "test.yaml:8:24: route_classes.api.fields.enabled: expected true or false, got "
                "\"maybe\"",
                "test.yaml:8:31: route_classes.api.fields.envelop: unknown key \"envelop\" (did "
                "you mean \"envelope\"?)"}));
}

TEST(RouteClassLoaderTest, KeyMapWithOneSettingKeepsTheOtherDefaults) {
  const RouteClass api = onlyClass("  api: { key: { headers: [accept] } }\n");
  EXPECT_EQ(api.key.headers, (std::vector<std::string>{"accept"}));
  EXPECT_EQ(api.key.query_mode, QueryMode::IgnoreListed);
  EXPECT_EQ(api.key.query_params, CacheKeyConfig{}.query_params);
}

TEST(RouteClassLoaderTest, QueryIncludeKeepsExactlyTheListedNames) {
  const RouteClass search = onlyClass("  search: { key: { query_include: [q, \"f_*\"] } }\n");
  EXPECT_EQ(search.key.query_mode, QueryMode::IncludeOnly);
  EXPECT_EQ(search.key.query_params, (std::vector<std::string>{"q", "f_*"}));
}

TEST(RouteClassLoaderTest, QueryIgnoreReplacesTheDefaultList) {
  const RouteClass api = onlyClass("  api: { key: { query_ignore: [session] } }\n");
  EXPECT_EQ(api.key.query_mode, QueryMode::IgnoreListed);
  EXPECT_EQ(api.key.query_params, (std::vector<std::string>{"session"}));
}

TEST(RouteClassLoaderTest, EmptyListsAreAllowedWhereTheyMeanSomething) {
  const RouteClass api = onlyClass("  api: { key: { query_include: [] }, vary: [], tags: [] }\n");
  EXPECT_EQ(api.key.query_mode, QueryMode::IncludeOnly);
  EXPECT_TRUE(api.key.query_params.empty());
  EXPECT_TRUE(api.vary.empty());
}

TEST(RouteClassLoaderTest, ClassWithoutCachingMayCarryOtherKeys) {
  const RouteClass off =
      onlyClass("  off: { cache: false, ttl: 5m, key: { per_credential: true } }\n");
  EXPECT_FALSE(off.cache);
  EXPECT_EQ(off.ttl, 5min);
  EXPECT_TRUE(off.key.per_credential);
}

TEST(CacheSectionTest, ReadsEveryKey) {
  const LoadResult result = load(
      "cache:\n"
      "  memory: 1g\n"
      "  shards: 1024\n"
      "  lock_timeout: 250ms\n"
      "  hit_for_miss: 0\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  const CacheConfig& cache = result.config->cache;
  EXPECT_EQ(cache.memory, 1ull << 30);
  EXPECT_EQ(cache.shards, 1024u);
  EXPECT_EQ(cache.lock_timeout, 250ms);
  EXPECT_EQ(cache.hit_for_miss, 0ms);
}

TEST(CacheSectionTest, OmittedSectionAndKeysKeepTheirDefaults) {
  const LoadResult without = load("");
  ASSERT_TRUE(without.ok()) << formatted(without)[0];
  EXPECT_EQ(without.config->cache.memory, 256u << 20);
  EXPECT_EQ(without.config->cache.shards, 16u);
  EXPECT_EQ(without.config->cache.lock_timeout, 10s);
  EXPECT_EQ(without.config->cache.hit_for_miss, 30s);

  const LoadResult partial = load("cache: { shards: 4 }\n");
  ASSERT_TRUE(partial.ok()) << formatted(partial)[0];
  EXPECT_EQ(partial.config->cache.shards, 4u);
  EXPECT_EQ(partial.config->cache.memory, 256u << 20);
}

TEST(CacheSectionTest, ValuesOutsideTheirRangeAreRejected) {
  EXPECT_EQ(errorsOf("cache:\n"
                     "  memory: 512k\n"
                     "  shards: 0\n"
                     "  lock_timeout: 0s\n"
                     "  hit_for_miss: soon\n"
                     "  shard: 2\n"),
            (std::vector<std::string>{
                "test.yaml:6:11: cache.memory: expected a size of at least 1m, got \"512k\"",
                "test.yaml:7:11: cache.shards: expected a number from 1 to 1024, got \"0\"",
                "test.yaml:8:17: cache.lock_timeout: expected a duration greater than 0, "
                "got \"0s\"",
                "test.yaml:9:17: cache.hit_for_miss: expected a duration like 250ms, 2s or 5m, "
                "got \"soon\"",
                "test.yaml:10:3: cache.shard: unknown key \"shard\" (did you mean \"shards\"?)"}));
  EXPECT_EQ(errorsOf("cache: { shards: 1025, memory: lots }\n"),
            (std::vector<std::string>{
                "test.yaml:5:18: cache.shards: expected a number from 1 to 1024, got \"1025\"",
                "test.yaml:5:32: cache.memory: expected a size like 512, 64k or 16m, "
                "got \"lots\""}));
}

TEST(RouteClassErrorTest, BadDurationsSizesAndFlags) {
  EXPECT_EQ(errorsOf("route_classes:\n"
                     "  api:\n"
                     "    stale_if_error: soon\n"
                     "    stale_while_revalidate: -1s\n"
                     "    max_object_size: 0\n"
                     "    store_set_cookie: sometimes\n"),
            (std::vector<std::string>{
                "test.yaml:7:21: route_classes.api.stale_if_error: expected a duration like "
                "250ms, 2s or 5m, got \"soon\"",
                "test.yaml:8:29: route_classes.api.stale_while_revalidate: expected a duration "
                "like 250ms, 2s or 5m, got \"-1s\"",
                "test.yaml:9:22: route_classes.api.max_object_size: expected a size of at "
                "least 1, got \"0\"",
                "test.yaml:10:23: route_classes.api.store_set_cookie: expected true or false, "
                "got \"sometimes\""}));
}

TEST(RouteClassErrorTest, QueryIncludeAndQueryIgnoreTogether) {
  EXPECT_EQ(errorsOf("route_classes:\n"
                     "  search:\n"
                     "    key:\n"
                     "      query_ignore: [utm_source]\n"
                     "      query_include: [q]\n"),
            (std::vector<std::string>{
                "test.yaml:9:22: route_classes.search.key.query_include: give either "
                "query_ignore or query_include, not both"}));
}

TEST(RouteClassErrorTest, BadQueryParameterNames) {
  EXPECT_EQ(errorsOf("route_classes:\n"
                     "  search: { key: { query_include: [\"a*b\", \"x=1\", \"\", [q]] } }\n"),
            (std::vector<std::string>{
                "test.yaml:6:36: route_classes.search.key.query_include[0]: expected a query "
                "parameter name, optionally ending in * like utm_*, got \"a*b\"",
                "test.yaml:6:43: route_classes.search.key.query_include[1]: expected a query "
                "parameter name, optionally ending in * like utm_*, got \"x=1\"",
                "test.yaml:6:50: route_classes.search.key.query_include[2]: expected a "
                "non-empty string, got \"\"",
                "test.yaml:6:54: route_classes.search.key.query_include[3]: expected a string, "
                "got a list"}));
}

TEST(RouteClassErrorTest, UnknownKeyInsideKeySuggestsTheClosest) {
  EXPECT_EQ(errorsOf("route_classes:\n"
                     "  api:\n"
                     "    key:\n"
                     "      tenant_heder: x-org-id\n"
                     "      query_includes: [q]\n"
                     "    stale_while_revalidat: 1s\n"),
            (std::vector<std::string>{
                "test.yaml:8:7: route_classes.api.key.tenant_heder: unknown key "
                "\"tenant_heder\" (did you mean \"tenant_header\"?)",
                "test.yaml:9:7: route_classes.api.key.query_includes: unknown key "
                "\"query_includes\" (did you mean \"query_include\"?)",
                "test.yaml:10:5: route_classes.api.stale_while_revalidat: unknown key "
                "\"stale_while_revalidat\" (did you mean \"stale_while_revalidate\"?)"}));
}

TEST(RouteClassErrorTest, BadHeaderNames) {
  EXPECT_EQ(errorsOf("route_classes:\n"
                     "  api:\n"
                     "    key: { headers: [\"accept language\"], tenant_header: \"x:org\" }\n"
                     "    vary: accept\n"),
            (std::vector<std::string>{
                "test.yaml:7:22: route_classes.api.key.headers[0]: expected a header name like "
                "accept-language, got \"accept language\"",
                "test.yaml:7:57: route_classes.api.key.tenant_header: expected a header name "
                "like accept-language, got \"x:org\"",
                "test.yaml:8:11: route_classes.api.vary: expected a list of header names, "
                "got \"accept\""}));
}

TEST(RouteClassErrorTest, BadStatuses) {
  EXPECT_EQ(errorsOf("route_classes:\n"
                     "  api: { statuses: [200, 600, ok, 99] }\n"
                     "  none: { statuses: [] }\n"),
            (std::vector<std::string>{
                "test.yaml:6:26: route_classes.api.statuses[1]: expected a number from 100 to "
                "599, got \"600\"",
                "test.yaml:6:31: route_classes.api.statuses[2]: expected a number from 100 to "
                "599, got \"ok\"",
                "test.yaml:6:35: route_classes.api.statuses[3]: expected a number from 100 to "
                "599, got \"99\"",
                "test.yaml:7:21: route_classes.none.statuses: expected at least one status code "
                "(cache: false stores nothing), got a list"}));
}

TEST(RouteClassErrorTest, BadTagPlaceholdersAreNamedWithTheAllowedForms) {
  const std::string allowed = " (allowed: {header.NAME}, {path.N} with N from 1, {query.NAME})";
  EXPECT_EQ(errorsOf("route_classes:\n"
                     "  api:\n"
                     "    tags:\n"
                     "      - \"org:{user.id}\"\n"
                     "      - \"wo:{path.0}\"\n"
                     "      - \"wo:{path.x}\"\n"
                     "      - \"h:{header.x org}\"\n"
                     "      - \"q:{query.}\"\n"
                     "      - \"org:{header.x-org-id\"\n"
                     "      - \"a{b{path.1}}\"\n"
                     "      - \"org}\"\n"
                     "      - \"ok:{path.2}:{}\"\n"),
            (std::vector<std::string>{
                "test.yaml:8:9: route_classes.api.tags[0]: bad placeholder \"{user.id}\" in "
                "\"org:{user.id}\"" + allowed,
                "test.yaml:9:9: route_classes.api.tags[1]: bad placeholder \"{path.0}\" in "
                "\"wo:{path.0}\"" + allowed,
                "test.yaml:10:9: route_classes.api.tags[2]: bad placeholder \"{path.x}\" in "
                "\"wo:{path.x}\"" + allowed,
                "test.yaml:11:9: route_classes.api.tags[3]: bad placeholder \"{header.x org}\" "
                "in \"h:{header.x org}\"" + allowed,
                "test.yaml:12:9: route_classes.api.tags[4]: bad placeholder \"{query.}\" in "
                "\"q:{query.}\"" + allowed,
                "test.yaml:13:9: route_classes.api.tags[5]: unclosed placeholder "
                "\"{header.x-org-id\" in \"org:{header.x-org-id\"" + allowed,
                "test.yaml:14:9: route_classes.api.tags[6]: unclosed placeholder \"{b\" in "
                "\"a{b{path.1}}\"" + allowed,
                "test.yaml:15:9: route_classes.api.tags[7]: stray \"}\" in \"org}\"" + allowed,
                "test.yaml:16:9: route_classes.api.tags[8]: bad placeholder \"{}\" in "
                "\"ok:{path.2}:{}\"" + allowed}));
}

TEST(RouteClassErrorTest, WrongNodeKindsSayWhatWasFound) {
  EXPECT_EQ(errorsOf("route_classes:\n"
                     "  api: { key: [q], tags: \"sites\", statuses: 200 }\n"),
            (std::vector<std::string>{
                "test.yaml:6:15: route_classes.api.key: expected a map, got a list",
                "test.yaml:6:26: route_classes.api.tags: expected a list of tags like "
                "[\"org:{header.x-org}\"], got \"sites\"",
                "test.yaml:6:45: route_classes.api.statuses: expected a list of status codes "
                "like [200, 404], got \"200\""}));
}

TEST(RouteClassExampleTest, ExampleConfigHasTheDocumentedCacheSettings) {
  const LoadResult result = loadConfigFile(kExamplePath);
  ASSERT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors[0].format());
  const Config& config = *result.config;
  EXPECT_EQ(config.cache.memory, 256u << 20);
  EXPECT_EQ(config.cache.shards, 16u);
  EXPECT_EQ(config.cache.lock_timeout, 10s);
  EXPECT_EQ(config.cache.hit_for_miss, 30s);
  ASSERT_EQ(config.route_classes.size(), 9u);
  const auto& classes = config.route_classes;

  EXPECT_EQ(classes[0].name, "static_assets");
  EXPECT_EQ(classes[0].ttl, 365 * 24h);
  EXPECT_EQ(classes[0].stale_while_revalidate, 0ms);

  EXPECT_EQ(classes[1].name, "api_list");
  EXPECT_EQ(classes[1].ttl, 5min);
  EXPECT_EQ(classes[1].stale_while_revalidate, 30s);
  EXPECT_EQ(classes[1].stale_if_error, 5min);
  EXPECT_EQ(classes[1].key.tenant_header, "x-org-id");
  EXPECT_EQ(classes[1].tags, (std::vector<std::string>{"org:{header.x-org-id}:list"}));

  EXPECT_EQ(classes[2].name, "api_detail");
  EXPECT_EQ(classes[2].ttl, 1min);
  EXPECT_EQ(classes[2].stale_while_revalidate, 15s);
  EXPECT_EQ(classes[2].stale_if_error, 5min);
  EXPECT_EQ(classes[2].key.tenant_header, "x-org-id");
  EXPECT_EQ(classes[2].tags, (std::vector<std::string>{"org:{header.x-org-id}:wo:{path.4}"}));

  EXPECT_EQ(classes[3].name, "search");
  EXPECT_EQ(classes[3].ttl, 60s);
  EXPECT_EQ(classes[3].key.query_mode, QueryMode::IncludeOnly);
  EXPECT_EQ(classes[3].key.query_params,
            (std::vector<std::string>{"q", "page", "per_page", "status"}));

  EXPECT_EQ(classes[4].name, "dashboard");
  EXPECT_EQ(classes[4].ttl, 30s);
  EXPECT_EQ(classes[4].stale_while_revalidate, 10s);
  EXPECT_EQ(classes[4].key.tenant_header, "x-org-id");

  EXPECT_EQ(classes[5].name, "filter_options");
  EXPECT_EQ(classes[5].ttl, 1h);
  EXPECT_EQ(classes[6].name, "user_preferences");
  EXPECT_EQ(classes[6].ttl, 1h);
  EXPECT_TRUE(classes[6].key.per_credential);
  EXPECT_EQ(classes[7].name, "health");
  EXPECT_EQ(classes[7].ttl, 5min);
  EXPECT_EQ(classes[8].name, "no_cache");
  EXPECT_FALSE(classes[8].cache);
}

TEST(RouteClassExampleTest, ExampleClassesWithoutKeySettingsKeepTheDefaultKey) {
  const LoadResult result = loadConfigFile(kExamplePath);
  ASSERT_TRUE(result.ok());
  const RouteClass defaults;
  for (const auto& route_class : result.config->route_classes) {
    SCOPED_TRACE(route_class.name);
    EXPECT_EQ(route_class.vary, defaults.vary);
    EXPECT_EQ(route_class.statuses, defaults.statuses);
    EXPECT_EQ(route_class.max_object_size, defaults.max_object_size);
    EXPECT_FALSE(route_class.override_origin);
    EXPECT_FALSE(route_class.store_set_cookie);
    if (route_class.name != "search") {
      EXPECT_EQ(route_class.key.query_mode, QueryMode::IgnoreListed);
      EXPECT_EQ(route_class.key.query_params, defaults.key.query_params);
    }
  }
}

}  // namespace
}  // namespace edge::config
