#include "config/config.h"

#include <gtest/gtest.h>

#include "config/route_rules.h"

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

TEST(QuickConfigTest, SendsEverythingToTheOneUpstreamWithoutCaching) {
  const ConfigPtr config = quickConfig(HostPort{"127.0.0.1", 8080}, HostPort{"::1", 3000});
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->source, "<quick>");
  EXPECT_EQ(addressesOf(config->listen), (std::vector<HostPort>{{"127.0.0.1", 8080}}));

  ASSERT_EQ(config->upstreams.size(), 1u);
  EXPECT_EQ(config->upstreams[0].name, "default");
  EXPECT_EQ(config->upstreams[0].servers, (std::vector<HostPort>{{"::1", 3000}}));

  ASSERT_EQ(config->route_classes.size(), 1u);
  EXPECT_EQ(config->route_classes[0].name, "default");
  EXPECT_FALSE(config->route_classes[0].cache);
  EXPECT_EQ(config->route_classes[0].ttl, Millis{0});

  ASSERT_EQ(config->routes.size(), 1u);
  const Route& route = config->routes[0];
  EXPECT_EQ(route.match.path_kind, PathMatchKind::Any);
  EXPECT_TRUE(route.match.hosts.empty());
  EXPECT_TRUE(route.match.methods.empty());
  EXPECT_EQ(&config->upstreamOf(route), &config->upstreams[0]);
  EXPECT_EQ(&config->classOf(route), &config->route_classes[0]);
}

TEST(QuickConfigTest, CatchAllRouteMatchesAnyRequest) {
  const ConfigPtr config = quickConfig(HostPort{"0.0.0.0", 0}, HostPort{"127.0.0.1", 3000});
  const RouteTable table(*config);
  EXPECT_EQ(table.match("anything.example:81", "DELETE", "/a/b/c"), &config->routes[0]);
  EXPECT_EQ(table.match("", "GET", "/"), &config->routes[0]);
}

}  // namespace
}  // namespace edge::config
