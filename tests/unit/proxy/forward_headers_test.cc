// The request headers as they go upstream (proxy/upstream/forward_headers).
#include "proxy/upstream/forward_headers.h"

#include <gtest/gtest.h>

namespace edge::upstream {
namespace {

config::UpstreamConfig upstreamAt(std::string host, uint16_t port) {
  config::UpstreamConfig cfg;
  cfg.name = "app";
  cfg.servers.push_back({std::move(host), port});
  return cfg;
}

http::Headers clientHeaders() {
  http::Headers headers;
  headers.add("Host", "api.test");
  headers.add("Connection", "keep-alive, X-Secret");
  headers.add("X-Secret", "hop");
  headers.add("Keep-Alive", "timeout=5");
  headers.add("Expect", "100-continue");
  headers.add("X-Forwarded-For", "10.0.0.1");
  headers.add("Via", "1.1 cdn");
  headers.add("Accept", "application/json");
  return headers;
}

TEST(ForwardHeaders, HopByHopOutForwardingIn) {
  http::Headers out = forwardHeaders(clientHeaders(), {"192.0.2.7", "api.test", true},
                                     upstreamAt("127.0.0.1", 8080));
  EXPECT_EQ(out.find("connection"), nullptr);
  EXPECT_EQ(out.find("x-secret"), nullptr);  // named by Connection
  EXPECT_EQ(out.find("keep-alive"), nullptr);
  EXPECT_EQ(out.find("expect"), nullptr);    // the proxy answers 100-continue itself
  EXPECT_EQ(out.joined("x-forwarded-for"), "10.0.0.1, 192.0.2.7");
  EXPECT_EQ(out.joined("via"), "1.1 cdn, 1.1 edge-proxy");
  ASSERT_NE(out.find("x-forwarded-proto"), nullptr);
  EXPECT_EQ(*out.find("x-forwarded-proto"), "http");
  ASSERT_NE(out.find("x-forwarded-host"), nullptr);
  EXPECT_EQ(*out.find("x-forwarded-host"), "api.test");
  ASSERT_NE(out.find("host"), nullptr);
  EXPECT_EQ(*out.find("host"), "api.test");  // kept unless the upstream rewrites it
  ASSERT_NE(out.find("accept"), nullptr);
}

TEST(ForwardHeaders, TheUpstreamMayRewriteHost) {
  config::UpstreamConfig cfg = upstreamAt("127.0.0.1", 8080);
  cfg.host_header = "internal.svc";
  http::Headers out = forwardHeaders(clientHeaders(), {"192.0.2.7", "api.test", true}, cfg);
  EXPECT_EQ(*out.find("host"), "internal.svc");
  EXPECT_EQ(*out.find("x-forwarded-host"), "api.test");
}

TEST(ForwardHeaders, AnHttp10ClientWithoutHostGetsTheServerAddressAndA10Via) {
  http::Headers in;
  in.add("Accept", "*/*");
  http::Headers out = forwardHeaders(std::move(in), {"192.0.2.7", "", false},
                                     upstreamAt("::1", 9000));
  EXPECT_EQ(*out.find("host"), "[::1]:9000");
  EXPECT_EQ(out.find("x-forwarded-host"), nullptr);
  EXPECT_EQ(out.joined("via"), "1.0 edge-proxy");
}

}  // namespace
}  // namespace edge::upstream
