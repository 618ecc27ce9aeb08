#include "config/loader.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/unit/config/config_test_support.h"

namespace edge::config {
namespace {

// The addresses of the listeners, in order.
std::vector<edge::config::HostPort> addressesOf(const std::vector<edge::config::ListenConfig>& listen) {
  std::vector<edge::config::HostPort> out;
  for (const auto& l : listen) {
    out.push_back(l.address);
  }
  return out;
}

using namespace std::chrono_literals;
using test_support::formatted;
using test_support::kExamplePath;
using test_support::minimal;

// The loader's own tests write whole documents, with minimal() where any valid base will do.
constexpr auto& load = test_support::loadYaml;
constexpr auto& errorsOf = test_support::yamlErrors;

// The 1-based line of the first line of `path` that equals `text`, or 0.
int lineOf(const std::string& path, const std::string& text) {
  std::ifstream in(path);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line == text) {
      return number;
    }
  }
  return 0;
}

TEST(LoaderTest, ExampleConfigLoadsWithItsValues) {
  const LoadResult result = loadConfigFile(kExamplePath);
  ASSERT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors[0].format());
  const Config& config = *result.config;
  EXPECT_EQ(config.source, kExamplePath);
  EXPECT_EQ(addressesOf(config.listen), (std::vector<HostPort>{{"127.0.0.1", 8080}}));
  EXPECT_EQ(config.workers, 0u);
  EXPECT_EQ(config.limits.max_header_bytes, 32u * 1024);
  EXPECT_EQ(config.limits.max_request_body, 64ull << 20);
  EXPECT_EQ(config.client_timeouts.header, 10s);
  EXPECT_EQ(config.client_timeouts.body_idle, 60s);
  EXPECT_EQ(config.client_timeouts.drain, 10s);

  ASSERT_EQ(config.upstreams.size(), 1u);
  const UpstreamConfig& app = config.upstreams[0];
  EXPECT_EQ(app.name, "app");
  EXPECT_EQ(app.servers, (std::vector<HostPort>{{"127.0.0.1", 3000}}));
  EXPECT_EQ(app.connect_timeout, 2s);
  EXPECT_EQ(app.first_byte_timeout, 30s);
  EXPECT_EQ(app.idle_timeout, 60s);
  EXPECT_EQ(app.pool_max_idle, 64u);
  EXPECT_EQ(app.pool_idle_timeout, 30s);
  EXPECT_EQ(app.host_header, std::nullopt);
  EXPECT_EQ(app.max_fails, 3u);
  EXPECT_EQ(app.fail_timeout, 10s);
}

TEST(LoaderTest, ExampleConfigHasItsRouteClassesAndRoutesInFileOrder) {
  const LoadResult result = loadConfigFile(kExamplePath);
  ASSERT_TRUE(result.ok());
  const Config& config = *result.config;
  std::vector<std::string> class_names;
  for (const auto& route_class : config.route_classes) {
    class_names.push_back(route_class.name);
  }
  EXPECT_EQ(class_names, (std::vector<std::string>{"static_assets", "api_list", "api_detail",
                                                   "search", "dashboard", "filter_options",
                                                   "user_preferences", "health", "no_cache"}));
  EXPECT_EQ(config.route_classes[0].ttl, 365 * 24h);
  EXPECT_TRUE(config.route_classes[0].cache);
  EXPECT_EQ(config.route_classes[3].ttl, 60s);
  EXPECT_FALSE(config.route_classes[8].cache);
  EXPECT_EQ(config.route_classes[8].ttl, 0ms);

  ASSERT_EQ(config.routes.size(), 11u);
  const Route& health = config.routes[0];
  EXPECT_EQ(health.match.path_kind, PathMatchKind::Exact);
  EXPECT_EQ(health.match.path, "/health");
  EXPECT_TRUE(health.match.methods.empty());
  EXPECT_EQ(config.classOf(health).name, "health");
  EXPECT_EQ(config.upstreamOf(health).name, "app");
  EXPECT_EQ(health.source_line, lineOf(kExamplePath, "  - match: { path: /health }"));
  EXPECT_GT(health.source_line, 0);

  const Route& assets = config.routes[1];
  EXPECT_EQ(assets.match.path_kind, PathMatchKind::Prefix);
  EXPECT_EQ(assets.match.path, "/static/");
  EXPECT_EQ(assets.match.methods, (std::vector<std::string>{"GET", "HEAD"}));
  EXPECT_EQ(config.classOf(assets).name, "static_assets");

  EXPECT_EQ(config.routes[3].match.path_kind, PathMatchKind::Template);
  EXPECT_EQ(config.routes[3].match.path, "/api/v1/work-orders/{id}");
  EXPECT_EQ(config.classOf(config.routes[10]).name, "no_cache");
}

TEST(LoaderTest, MinimalConfigGetsDefaultsAndTheBuiltInDefaultClass) {
  const LoadResult result = load(minimal());
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  const Config& config = *result.config;
  EXPECT_EQ(config.source, "test.yaml");
  EXPECT_EQ(config.workers, 0u);
  EXPECT_EQ(config.limits.max_header_bytes, Limits{}.max_header_bytes);
  EXPECT_EQ(config.upstreams[0].connect_timeout, UpstreamConfig{}.connect_timeout);
  ASSERT_EQ(config.route_classes.size(), 1u);
  EXPECT_EQ(config.route_classes[0].name, "default");
  EXPECT_TRUE(config.route_classes[0].cache);
  EXPECT_EQ(config.route_classes[0].ttl, 0ms);
  ASSERT_EQ(config.routes.size(), 1u);
  EXPECT_EQ(config.routes[0].match.path_kind, PathMatchKind::Any);
  EXPECT_EQ(config.routes[0].class_index, 0u);
  EXPECT_EQ(config.routes[0].source_line, 6);
}

TEST(LoaderTest, RoutesWithoutClassUseAUserClassNamedDefault) {
  const LoadResult result =
      load(minimal("route_classes:\n"
                   "  fast: { ttl: 1m }\n"
                   "  default: { ttl: 5s, cache: false }\n"));
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  ASSERT_EQ(result.config->route_classes.size(), 2u);
  EXPECT_EQ(result.config->routes[0].class_index, 1u);
  EXPECT_FALSE(result.config->route_classes[1].cache);
}

TEST(LoaderTest, RouteMayNameTheBuiltInDefaultClassExplicitly) {
  const LoadResult result = load(
      "listen: 127.0.0.1:8080\n"
      "upstreams: { app: { servers: [127.0.0.1:3000] } }\n"
      "route_classes: { api: { ttl: 1m } }\n"
      "routes: [{ upstream: app, class: api }, { upstream: app, class: default }]\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  ASSERT_EQ(result.config->route_classes.size(), 2u);
  EXPECT_EQ(result.config->routes[1].class_index, 1u);
  EXPECT_EQ(result.config->route_classes[1].name, "default");
  EXPECT_TRUE(result.config->route_classes[1].cache);
}

TEST(LoaderTest, BuiltInDefaultClassIsNotAddedWhenEveryRouteNamesAClass) {
  const LoadResult result = load(
      "listen: 127.0.0.1:8080\n"
      "upstreams: { app: { servers: [127.0.0.1:3000] } }\n"
      "route_classes: { api: { ttl: 1m } }\n"
      "routes: [{ upstream: app, class: api }]\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  ASSERT_EQ(result.config->route_classes.size(), 1u);
  EXPECT_EQ(result.config->route_classes[0].name, "api");
}

TEST(LoaderTest, ReadsEveryOptionalSetting) {
  const LoadResult result = load(
      "listen: [\"[::1]:8443\", \":0\", \"localhost:9000\"]\n"
      "workers: 4\n"
      "limits: { max_header_bytes: 1m, max_request_body: 0 }\n"
      "client_timeouts: { header: 250ms, body_idle: 2s, keepalive: 5m, send_idle: 1h, "
      "drain: 1d }\n"
      "upstreams:\n"
      "  api:\n"
      "    servers: [10.0.0.1:80, \"[fd00::1]:8080\"]\n"
      "    pool: { max_idle: 0, idle_timeout: 1s }\n"
      "    host_header: api.internal\n"
      "    max_fails: 1\n"
      "routes:\n"
      "  - match:\n"
      "      hosts: [Example.com, \"*.example.com\", \"[::1]\"]\n"
      "      path_prefix: /v1/\n"
      "      methods: [get, Post]\n"
      "    upstream: api\n");
  ASSERT_TRUE(result.ok()) << formatted(result)[0];
  const Config& config = *result.config;
  EXPECT_EQ(addressesOf(config.listen),
            (std::vector<HostPort>{{"::1", 8443}, {"0.0.0.0", 0}, {"localhost", 9000}}));
  EXPECT_EQ(config.workers, 4u);
  EXPECT_EQ(config.limits.max_header_bytes, 1u << 20);
  EXPECT_EQ(config.limits.max_request_body, 0u);
  EXPECT_EQ(config.client_timeouts.header, 250ms);
  EXPECT_EQ(config.client_timeouts.drain, 24h);
  const UpstreamConfig& api = config.upstreams[0];
  EXPECT_EQ(api.servers, (std::vector<HostPort>{{"10.0.0.1", 80}, {"fd00::1", 8080}}));
  EXPECT_EQ(api.pool_max_idle, 0u);
  EXPECT_EQ(api.pool_idle_timeout, 1s);
  EXPECT_EQ(api.host_header, "api.internal");
  EXPECT_EQ(api.max_fails, 1u);
  const RouteMatch& match = config.routes[0].match;
  EXPECT_EQ(match.hosts, (std::vector<std::string>{"Example.com", "*.example.com", "::1"}));
  EXPECT_EQ(match.path_kind, PathMatchKind::Prefix);
  EXPECT_EQ(match.methods, (std::vector<std::string>{"GET", "POST"}));
}

TEST(LoaderTest, BadDurationNamesItsLineColumnAndKeyPath) {
  EXPECT_EQ(errorsOf("listen: 127.0.0.1:8080\n"
                     "upstreams:\n"
                     "  app:\n"
                     "    servers: [127.0.0.1:3000]\n"
                     "    connect_timeout: fast\n"
                     "routes:\n"
                     "  - upstream: app\n"),
            (std::vector<std::string>{"test.yaml:5:22: upstreams.app.connect_timeout: expected a "
                                      "duration like 250ms, 2s or 5m, got \"fast\""}));
}

TEST(LoaderTest, EmptyValueIsReportedAtItsKey) {
  EXPECT_EQ(errorsOf(minimal("client_timeouts:\n"
                             "  header:\n")),
            (std::vector<std::string>{"test.yaml:6:3: client_timeouts.header: expected a "
                                      "duration like 250ms, 2s or 5m, got nothing"}));
}

TEST(LoaderTest, ZeroTimeoutIsRejectedButZeroTtlIsAllowed) {
  EXPECT_EQ(errorsOf(minimal("client_timeouts: { keepalive: 0s }\n"
                             "route_classes: { live: { ttl: 0 } }\n")),
            (std::vector<std::string>{"test.yaml:5:31: client_timeouts.keepalive: expected a "
                                      "duration greater than 0, got \"0s\""}));
}

TEST(LoaderTest, SizesOutsideTheirRangeAreRejected) {
  EXPECT_EQ(errorsOf(minimal("limits:\n"
                             "  max_header_bytes: 2m\n"
                             "  max_request_body: lots\n")),
            (std::vector<std::string>{
                "test.yaml:6:21: limits.max_header_bytes: expected a size from 1k to 1m, "
                "got \"2m\"",
                "test.yaml:7:21: limits.max_request_body: expected a size like 512, 64k or 16m, "
                "got \"lots\""}));
}

TEST(LoaderTest, WorkersMustBeAutoOrANumberInRange) {
  EXPECT_EQ(errorsOf(minimal("workers: 0\n")),
            (std::vector<std::string>{
                "test.yaml:5:10: workers: expected a number from 1 to 256, got \"0\""}));
  EXPECT_EQ(errorsOf(minimal("workers: 257\n")),
            (std::vector<std::string>{
                "test.yaml:5:10: workers: expected a number from 1 to 256, got \"257\""}));
  EXPECT_EQ(errorsOf(minimal("workers: many\n")),
            (std::vector<std::string>{
                "test.yaml:5:10: workers: expected \"auto\" or a number from 1 to 256, "
                "got \"many\""}));
}

TEST(LoaderTest, BadAddressesExplainWhatIsWrong) {
  EXPECT_EQ(
      errorsOf("listen:\n"
               "  - 127.0.0.1:70000\n"
               "  - localhost\n"
               "  - ::1:80\n"
               "upstreams: { app: { servers: [127.0.0.1:0] } }\n"
               "routes: [{ upstream: app }]\n"),
      (std::vector<std::string>{
          "test.yaml:2:5: listen[0]: expected host:port like 127.0.0.1:8080 or \"[::1]:8080\", "
          "got \"127.0.0.1:70000\" (the port must be a number from 0 to 65535)",
          "test.yaml:3:5: listen[1]: expected host:port like 127.0.0.1:8080 or \"[::1]:8080\", "
          "got \"localhost\" (the port is required)",
          "test.yaml:4:5: listen[2]: expected host:port like 127.0.0.1:8080 or \"[::1]:8080\", "
          "got \"::1:80\" (an IPv6 address goes in brackets, and the whole value in quotes)",
          "test.yaml:5:31: upstreams.app.servers[0]: an upstream server needs a real port, "
          "not 0"}));
}

TEST(LoaderTest, MissingRequiredKeysAreReportedWhereTheyBelong) {
  EXPECT_EQ(
      errorsOf("workers: auto\n"
               "upstreams:\n"
               "  app:\n"
               "    connect_timeout: 1s\n"),
      (std::vector<std::string>{"test.yaml:1:1: missing required key \"listen\"",
                                "test.yaml:1:1: missing required key \"routes\"",
                                "test.yaml:4:5: upstreams.app: missing required key \"servers\""}));
}

TEST(LoaderTest, EmptyListsAreRejected) {
  EXPECT_EQ(errorsOf("listen: []\n"
                     "upstreams: { app: { servers: [] } }\n"
                     "routes: []\n"),
            (std::vector<std::string>{
                "test.yaml:1:9: listen: expected at least one host:port, got a list",
                "test.yaml:2:30: upstreams.app.servers: expected at least one host:port, "
                "got a list",
                "test.yaml:3:9: routes: expected at least one route, got a list"}));
}

TEST(LoaderTest, WrongNodeKindsSayWhatWasFound) {
  EXPECT_EQ(errorsOf("listen: { a: 1 }\n"
                     "upstreams: [app]\n"
                     "routes: {}\n"),
            (std::vector<std::string>{
                "test.yaml:1:9: listen: expected host:port or a list of them, got a map",
                "test.yaml:2:12: upstreams: expected a map of names, got a list",
                "test.yaml:3:9: routes: expected a list of routes, got a map"}));
}

TEST(LoaderTest, UnknownKeySuggestsTheClosestKnownKey) {
  EXPECT_EQ(errorsOf("listen: 127.0.0.1:8080\n"
                     "upstream:\n"
                     "  app: { servers: [127.0.0.1:3000] }\n"
                     "routes:\n"
                     "  - upstream: app\n"
                     "    match: { path_prefx: /api/ }\n"),
            (std::vector<std::string>{
                "test.yaml:1:1: missing required key \"upstreams\"",
                "test.yaml:2:1: upstream: unknown key \"upstream\" (did you mean \"upstreams\"?)",
                "test.yaml:5:15: routes[0].upstream: unknown upstream \"app\" (none is "
                "defined)",
                "test.yaml:6:14: routes[0].match.path_prefx: unknown key \"path_prefx\" "
                "(did you mean \"path_prefix\"?)"}));
}

TEST(LoaderTest, UnknownKeyFarFromAnyKnownKeyHasNoSuggestion) {
  EXPECT_EQ(errorsOf(minimal("colour: red\n")),
            (std::vector<std::string>{"test.yaml:5:1: colour: unknown key \"colour\""}));
}

TEST(LoaderTest, UnknownUpstreamAndClassSuggestTheClosestName) {
  EXPECT_EQ(
      errorsOf(minimal("route_classes: { api_list: { ttl: 5m } }\n") + "  - upstream: ap\n"
                                                                       "    class: api_lists\n"
                                                                       "  - upstream: zzzzzz\n"),
      (std::vector<std::string>{
          "test.yaml:8:15: routes[1].upstream: unknown upstream \"ap\" "
          "(did you mean \"app\"?)",
          "test.yaml:9:12: routes[1].class: unknown route class \"api_lists\" "
          "(did you mean \"api_list\"?)",
          "test.yaml:10:15: routes[2].upstream: unknown upstream \"zzzzzz\" "
          "(defined: app)"}));
}

TEST(LoaderTest, DuplicateKeysAndNamesAreReported) {
  EXPECT_EQ(errorsOf("listen: 127.0.0.1:8080\n"
                     "upstreams:\n"
                     "  app: { servers: [127.0.0.1:3000], max_fails: 2, max_fails: 3 }\n"
                     "  app: { servers: [127.0.0.1:3001] }\n"
                     "routes:\n"
                     "  - upstream: app\n"
                     "listen: 127.0.0.1:9090\n"),
            (std::vector<std::string>{
                "test.yaml:3:51: upstreams.app.max_fails: duplicate key \"max_fails\" "
                "(first given on line 3)",
                "test.yaml:4:3: upstreams.app: duplicate name \"app\" (first given on line 3)",
                "test.yaml:7:1: listen: duplicate key \"listen\" (first given on line 1)"}));
}

TEST(LoaderTest, RouteMatchProblemsAreEachReported) {
  EXPECT_EQ(
      errorsOf(minimal() + "  - match: { path: api/v1, methods: [GET, \"GE T\"] }\n"
                           "    upstream: app\n"
                           "  - match: { path: /a, path_prefix: /a/ }\n"
                           "    upstream: app\n"
                           "  - match: { path: \"/items/x{id}\", host: example.com:8080 }\n"
                           "    upstream: app\n"
                           "  - match: { path: \"/a/{id}/b/{id}\", host: a, hosts: [b] }\n"
                           "    upstream: app\n"
                           "  - match: { path_prefix: \"/{x}\", methods: [] }\n"
                           "    upstream: app\n"),
      (std::vector<std::string>{
          "test.yaml:7:20: routes[1].match.path: expected a path starting with \"/\", "
          "got \"api/v1\"",
          "test.yaml:7:43: routes[1].match.methods[1]: expected an HTTP method like GET, "
          "got \"GE T\"",
          "test.yaml:9:37: routes[2].match.path_prefix: give either path or path_prefix, "
          "not both",
          "test.yaml:11:20: routes[3].match.path: expected each {param} to be a whole segment "
          "with a name, like /items/{id}, got \"/items/x{id}\"",
          "test.yaml:11:42: routes[3].match.host: a route host takes no port (the Host "
          "header's port is ignored), got \"example.com:8080\"",
          "test.yaml:13:20: routes[4].match.path: parameter {id} appears twice, "
          "got \"/a/{id}/b/{id}\"",
          "test.yaml:13:54: routes[4].match.hosts: give either host or hosts, not both",
          "test.yaml:15:27: routes[5].match.path_prefix: path_prefix is matched literally; "
          "use path for a {param} template",
          "test.yaml:15:44: routes[5].match.methods: expected at least one method (leave "
          "methods out to match any), got a list"}));
}

TEST(LoaderTest, ReportsAllErrorsAtOnceInFileOrder) {
  const LoadResult result = load(
      "listen: 127.0.0.1:8080\n"
      "workers: lots\n"
      "upstreams:\n"
      "  app:\n"
      "    servers: [127.0.0.1:3000]\n"
      "    idle_timeout: 10x\n"
      "route_classes:\n"
      "  api: { ttl: 5m, cache: maybe }\n"
      "routes:\n"
      "  - upstream: app\n"
      "    class: apx\n");
  ASSERT_EQ(result.errors.size(), 4u);
  EXPECT_EQ(result.config, nullptr);
  EXPECT_EQ(result.errors[0].key_path, "workers");
  EXPECT_EQ(result.errors[0].line, 2);
  EXPECT_EQ(result.errors[0].column, 10);
  EXPECT_EQ(result.errors[1].key_path, "upstreams.app.idle_timeout");
  EXPECT_EQ(result.errors[1].line, 6);
  EXPECT_EQ(result.errors[1].column, 19);
  EXPECT_EQ(result.errors[2].key_path, "route_classes.api.cache");
  EXPECT_EQ(result.errors[2].message, "expected true or false, got \"maybe\"");
  EXPECT_EQ(result.errors[3].key_path, "routes[0].class");
  EXPECT_EQ(result.errors[3].message, "unknown route class \"apx\" (did you mean \"api\"?)");
  EXPECT_EQ(result.errors[3].file, "test.yaml");
}

TEST(LoaderTest, SyntaxErrorBecomesAnErrorWithItsPosition) {
  const LoadResult result = load(
      "listen: 127.0.0.1:8080\n"
      "routes: [ { upstream: app }\n"
      "upstreams: {}\n");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.config, nullptr);
  EXPECT_EQ(result.errors[0].line, 3);
  EXPECT_GT(result.errors[0].column, 0);
  EXPECT_EQ(result.errors[0].key_path, "");
  EXPECT_EQ(result.errors[0].message.rfind("invalid YAML: ", 0), 0u) << result.errors[0].message;
}

TEST(LoaderTest, UnquotedIpv6ListenAddressIsASyntaxError) {
  const LoadResult result = load("listen:\n  - [::1]:8080\n");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].line, 2);
}

TEST(LoaderTest, EmptyOrNonMapDocumentIsAnError) {
  EXPECT_EQ(errorsOf(""), (std::vector<std::string>{"test.yaml:1:1: the configuration is "
                                                    "empty; expected listen, upstreams and "
                                                    "routes"}));
  EXPECT_EQ(errorsOf("# nothing but a comment\n").size(), 1u);
  EXPECT_EQ(errorsOf("just text\n"),
            (std::vector<std::string>{"test.yaml:1:1: expected a map, got \"just text\""}));
}

TEST(LoaderTest, SecondYamlDocumentIsAnError) {
  EXPECT_EQ(errorsOf(minimal() + "---\nlisten: 127.0.0.1:9\n"),
            (std::vector<std::string>{
                "test.yaml:7:1: expected one YAML document; a second one starts here"}));
}

// yaml-cpp's LoadAll yields empty documents forever on these; the loader must still answer.
TEST(LoaderTest, StreamsThatStartADocumentWithACommaAreErrorsNotHangs) {
  for (const char* text : {",", "!,x", "a: 1\n---\n,", "listen: x\n,\n"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(errorsOf(text).empty());
  }
}

TEST(LoaderTest, MissingFileNamesTheFileAndTheReason) {
  const LoadResult result = loadConfigFile("/nonexistent/edge.yaml");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.config, nullptr);
  EXPECT_EQ(result.errors[0].format(),
            "/nonexistent/edge.yaml: cannot read config file: No such file or directory");
}

TEST(LoaderTest, DirectoryInsteadOfFileIsAnError) {
  const LoadResult result = loadConfigFile(EDGE_SOURCE_DIR "/config");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].format(),
            std::string(EDGE_SOURCE_DIR "/config") + ": cannot read config file: Is a directory");
}

TEST(ConfigErrorTest, FormatLeavesOutUnknownPositionsAndEmptyKeyPath) {
  EXPECT_EQ((ConfigError{"a.yaml", 3, 7, "routes[0].upstream", "bad"}).format(),
            "a.yaml:3:7: routes[0].upstream: bad");
  EXPECT_EQ((ConfigError{"a.yaml", 3, 0, "workers", "bad"}).format(), "a.yaml:3: workers: bad");
  EXPECT_EQ((ConfigError{"a.yaml", 0, 0, "", "bad"}).format(), "a.yaml: bad");
}

}  // namespace
}  // namespace edge::config
