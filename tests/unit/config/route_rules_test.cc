#include "config/route_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "tests/unit/config/config_test_support.h"

namespace edge::config {
namespace {

using test_support::kExamplePath;

RouteMatch pathMatch(PathMatchKind kind, std::string path) {
  RouteMatch match;
  match.path_kind = kind;
  match.path = std::move(path);
  return match;
}

RouteMatch hostMatch(std::vector<std::string> hosts) {
  RouteMatch match;
  match.hosts = std::move(hosts);
  return match;
}

// A config holding only routes; the table never looks at upstreams or classes.
Config withRoutes(const std::vector<RouteMatch>& matches) {
  Config config;
  for (const auto& match : matches) {
    Route route;
    route.match = match;
    config.routes.push_back(route);
  }
  return config;
}

TEST(RouteTableTest, ExactPathMatchesOnlyTheWholePath) {
  const Config config = withRoutes({pathMatch(PathMatchKind::Exact, "/health")});
  const RouteTable table(config);
  EXPECT_EQ(table.match("h", "GET", "/health"), &config.routes[0]);
  EXPECT_EQ(table.match("h", "GET", "/health/"), nullptr);
  EXPECT_EQ(table.match("h", "GET", "/healthz"), nullptr);
  EXPECT_EQ(table.match("h", "GET", "/Health"), nullptr);
  EXPECT_EQ(table.match("h", "GET", "/"), nullptr);
  EXPECT_EQ(table.match("h", "GET", ""), nullptr);
}

TEST(RouteTableTest, PrefixMatchesAnyPathThatStartsWithIt) {
  const Config config = withRoutes({pathMatch(PathMatchKind::Prefix, "/static/")});
  const RouteTable table(config);
  EXPECT_EQ(table.match("h", "GET", "/static/"), &config.routes[0]);
  EXPECT_EQ(table.match("h", "GET", "/static/css/site.css"), &config.routes[0]);
  EXPECT_EQ(table.match("h", "GET", "/static"), nullptr);
  EXPECT_EQ(table.match("h", "GET", "/statics/x"), nullptr);
}

TEST(RouteTableTest, TemplateParamMatchesExactlyOneNonEmptySegment) {
  const Config config =
      withRoutes({pathMatch(PathMatchKind::Template, "/api/v1/work-orders/{id}")});
  const RouteTable table(config);
  EXPECT_EQ(table.match("h", "GET", "/api/v1/work-orders/42"), &config.routes[0]);
  EXPECT_EQ(table.match("h", "GET", "/api/v1/work-orders/abc-def"), &config.routes[0]);
  EXPECT_EQ(table.match("h", "GET", "/api/v1/work-orders/"), nullptr);
  EXPECT_EQ(table.match("h", "GET", "/api/v1/work-orders"), nullptr);
  EXPECT_EQ(table.match("h", "GET", "/api/v1/work-orders/42/"), nullptr);
  EXPECT_EQ(table.match("h", "GET", "/api/v1/work-orders/42/notes"), nullptr);
  EXPECT_EQ(table.match("h", "GET", "/api/v2/work-orders/42"), nullptr);
  EXPECT_EQ(table.match("h", "GET", "api/v1/work-orders/42"), nullptr);
}

TEST(RouteTableTest, TemplateMatchesParamsInTheMiddleAndLiteralsAfterThem) {
  const Config config =
      withRoutes({pathMatch(PathMatchKind::Template, "/orgs/{org}/sites/{site}/stats")});
  const RouteTable table(config);
  EXPECT_EQ(table.match("h", "GET", "/orgs/7/sites/12/stats"), &config.routes[0]);
  EXPECT_EQ(table.match("h", "GET", "/orgs/7/sites/12/stat"), nullptr);
  EXPECT_EQ(table.match("h", "GET", "/orgs//sites/12/stats"), nullptr);
  EXPECT_EQ(table.match("h", "GET", "/orgs/7/sites/12/stats/"), nullptr);
}

TEST(RouteTableTest, TemplateWithTrailingSlashRequiresTheTrailingSlash) {
  const Config config = withRoutes({pathMatch(PathMatchKind::Template, "/items/{id}/")});
  const RouteTable table(config);
  EXPECT_EQ(table.match("h", "GET", "/items/3/"), &config.routes[0]);
  EXPECT_EQ(table.match("h", "GET", "/items/3"), nullptr);
}

TEST(RouteTableTest, HostMatchIgnoresCaseAndPort) {
  const Config config = withRoutes({hostMatch({"API.Example.com"})});
  const RouteTable table(config);
  EXPECT_EQ(table.match("api.example.com", "GET", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("API.EXAMPLE.COM:8080", "GET", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("api.example.com.", "GET", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("api.example.org", "GET", "/"), nullptr);
  EXPECT_EQ(table.match("xapi.example.com", "GET", "/"), nullptr);
  EXPECT_EQ(table.match("", "GET", "/"), nullptr);
}

TEST(RouteTableTest, WildcardHostMatchesSubdomainsButNotTheDomainItself) {
  const Config config = withRoutes({hostMatch({"*.example.com"})});
  const RouteTable table(config);
  EXPECT_EQ(table.match("a.example.com", "GET", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("a.b.example.com:443", "GET", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("A.Example.COM", "GET", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("example.com", "GET", "/"), nullptr);
  EXPECT_EQ(table.match(".example.com", "GET", "/"), nullptr);
  EXPECT_EQ(table.match("badexample.com", "GET", "/"), nullptr);
}

TEST(RouteTableTest, Ipv6HostMatchesWithBracketsAndPortInTheHostHeader) {
  const Config config = withRoutes({hostMatch({"::1"}), hostMatch({"[FE80::2]"})});
  const RouteTable table(config);
  EXPECT_EQ(table.match("[::1]:8080", "GET", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("[::1]", "GET", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("[fe80::2]:80", "GET", "/"), &config.routes[1]);
  EXPECT_EQ(table.match("[::2]:8080", "GET", "/"), nullptr);
}

TEST(RouteTableTest, AnyOfSeveralHostsMatches) {
  const Config config = withRoutes({hostMatch({"a.test", "*.b.test"})});
  const RouteTable table(config);
  EXPECT_EQ(table.match("a.test", "GET", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("x.b.test", "GET", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("c.test", "GET", "/"), nullptr);
}

TEST(RouteTableTest, MethodListRestrictsAndEmptyListAllowsAny) {
  RouteMatch reads;
  reads.methods = {"GET", "HEAD"};
  const Config config = withRoutes({reads});
  const RouteTable table(config);
  EXPECT_EQ(table.match("h", "GET", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("h", "HEAD", "/"), &config.routes[0]);
  EXPECT_EQ(table.match("h", "POST", "/"), nullptr);
  EXPECT_EQ(table.match("h", "get", "/"), nullptr);

  const Config any = withRoutes({RouteMatch{}});
  const RouteTable any_table(any);
  EXPECT_EQ(any_table.match("h", "PURGE", "/"), &any.routes[0]);
}

TEST(RouteTableTest, FirstMatchingRouteWins) {
  RouteMatch post_only = pathMatch(PathMatchKind::Prefix, "/api/");
  post_only.methods = {"POST"};
  const Config config = withRoutes({post_only, pathMatch(PathMatchKind::Exact, "/api/x"),
                                    pathMatch(PathMatchKind::Prefix, "/api/"),
                                    pathMatch(PathMatchKind::Prefix, "/")});
  const RouteTable table(config);
  EXPECT_EQ(table.match("h", "POST", "/api/x"), &config.routes[0]);
  EXPECT_EQ(table.match("h", "GET", "/api/x"), &config.routes[1]);
  EXPECT_EQ(table.match("h", "GET", "/api/y"), &config.routes[2]);
  EXPECT_EQ(table.match("h", "GET", "/other"), &config.routes[3]);
}

TEST(RouteTableTest, NoMatchingRouteGivesNull) {
  const Config config = withRoutes({pathMatch(PathMatchKind::Exact, "/only")});
  const RouteTable table(config);
  EXPECT_EQ(table.match("h", "GET", "/other"), nullptr);

  const Config empty;
  EXPECT_EQ(RouteTable(empty).match("h", "GET", "/"), nullptr);
}

TEST(RouteTableTest, ExampleConfigRoutesRequestsToTheExpectedClasses) {
  const LoadResult result = loadConfigFile(kExamplePath);
  ASSERT_TRUE(result.ok());
  const Config& config = *result.config;
  const RouteTable table(config);
  const auto classFor = [&](std::string_view method, std::string_view path) -> std::string {
    const Route* route = table.match("localhost:8080", method, path);
    return route == nullptr ? "<none>" : config.classOf(*route).name;
  };
  EXPECT_EQ(classFor("GET", "/health"), "health");
  EXPECT_EQ(classFor("GET", "/static/app.js"), "static_assets");
  EXPECT_EQ(classFor("GET", "/api/v1/work-orders"), "api_list");
  EXPECT_EQ(classFor("HEAD", "/api/v1/work-orders/17"), "api_detail");
  EXPECT_EQ(classFor("GET", "/api/v1/sites/3"), "api_detail");
  EXPECT_EQ(classFor("POST", "/api/v1/work-orders"), "no_cache");
  EXPECT_EQ(classFor("GET", "/api/v1/work-orders/17/notes"), "no_cache");
  EXPECT_EQ(classFor("GET", "/api/v1/me/preferences"), "user_preferences");
}

}  // namespace
}  // namespace edge::config
