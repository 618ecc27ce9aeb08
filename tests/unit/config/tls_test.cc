// TLS and tunnel settings: listeners as strings or maps with `tls`, an upstream's `tls`, a
// route's `upgrade` list, tunnel_idle and max_tunnels. The files are only named here; reading
// them is the runtime's (tests/unit/proxy/tls).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "tests/unit/config/config_test_support.h"

namespace edge::config {
namespace {

using test_support::formatted;
using test_support::loaded;
using test_support::loadYaml;
using test_support::yamlErrors;

using namespace std::chrono_literals;

std::string withListen(const std::string& listen, const std::string& upstream_extra = "") {
  return "listen:\n" + listen +
         "upstreams:\n"
         "  app:\n"
         "    servers: [127.0.0.1:3000]\n" +
         upstream_extra +
         "routes:\n"
         "  - upstream: app\n";
}

ConfigPtr loadedYaml(const std::string& yaml) {
  const LoadResult result = loadYaml(yaml);
  EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors[0].format());
  return result.config;
}

TEST(TlsListenTest, PlainAndTlsListenersCoexist) {
  const ConfigPtr config = loadedYaml(withListen(
      "  - 127.0.0.1:8080\n"
      "  - address: 0.0.0.0:8443\n"
      "    tls:\n"
      "      certificates:\n"
      "        - { cert: /etc/edge/api.pem, key: /etc/edge/api.key }\n"
      "        - { cert: /etc/edge/wild.pem, key: /etc/edge/wild.key }\n"
      "      min_version: \"1.3\"\n"
      "      ciphers: ECDHE-RSA-AES128-GCM-SHA256\n"
      "      alpn: [http/1.1]\n"
      "      client_ca: /etc/edge/ca.pem\n"
      "      client_verify: optional\n"
      "      client_subject_header: X-Client-DN\n"
      "      strict_sni: true\n"
      "      handshake_timeout: 3s\n"
      "      session_tickets: false\n"));
  ASSERT_NE(config, nullptr);
  ASSERT_EQ(config->listen.size(), 2u);
  EXPECT_FALSE(config->listen[0].tls);
  EXPECT_EQ(config->listen[1].address, (HostPort{"0.0.0.0", 8443}));
  ASSERT_TRUE(config->listen[1].tls);
  const TlsListenerConfig& tls = *config->listen[1].tls;
  ASSERT_EQ(tls.certificates.size(), 2u);
  EXPECT_EQ(tls.certificates[1].cert.path, "/etc/edge/wild.pem");
  EXPECT_EQ(tls.certificates[1].key.path, "/etc/edge/wild.key");
  EXPECT_EQ(tls.certificates[1].cert.place.line, 7);
  EXPECT_EQ(tls.certificates[1].cert.place.key_path, "listen[1].tls.certificates[1].cert");
  EXPECT_EQ(tls.min_version, TlsVersion::Tls13);
  EXPECT_EQ(tls.ciphers, "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(tls.alpn, (std::vector<std::string>{"http/1.1"}));
  ASSERT_TRUE(tls.client_ca);
  EXPECT_EQ(tls.client_ca->path, "/etc/edge/ca.pem");
  EXPECT_FALSE(tls.client_cert_required);
  EXPECT_EQ(tls.client_subject_header, "x-client-dn");
  EXPECT_TRUE(tls.strict_sni);
  EXPECT_EQ(tls.handshake_timeout, 3s);
  EXPECT_FALSE(tls.session_tickets);
}

TEST(TlsListenTest, DefaultsAreSecureAndTicketsOn) {
  const ConfigPtr config = loadedYaml(withListen(
      "  - address: 127.0.0.1:8443\n"
      "    tls: { certificates: [{ cert: a.pem, key: a.key }] }\n"));
  ASSERT_NE(config, nullptr);
  const TlsListenerConfig& tls = *config->listen[0].tls;
  EXPECT_EQ(tls.min_version, TlsVersion::Tls12);
  EXPECT_EQ(tls.ciphers, "");
  EXPECT_EQ(tls.alpn, (std::vector<std::string>{"http/1.1"}));
  EXPECT_FALSE(tls.client_ca);
  EXPECT_EQ(tls.client_subject_header, "x-client-cert-subject");
  EXPECT_FALSE(tls.strict_sni);
  EXPECT_EQ(tls.handshake_timeout, 10s);
  EXPECT_TRUE(tls.session_tickets);
}

TEST(TlsListenTest, AMapWithoutTlsIsAPlainListener) {
  const ConfigPtr config = loadedYaml(withListen("  - address: 127.0.0.1:8080\n"));
  ASSERT_NE(config, nullptr);
  EXPECT_FALSE(config->listen[0].tls);
}

TEST(TlsListenTest, ProblemsAreReportedWithTheirPlace) {
  const std::vector<std::string> errors = yamlErrors(withListen(
      "  - address: 127.0.0.1:8443\n"
      "    tls:\n"
      "      certificates: []\n"
      "      min_version: \"1.1\"\n"
      "      alpn: [h3]\n"
      "      client_verify: required\n"
      "      certs: x\n"));
  EXPECT_EQ(errors,
            (std::vector<std::string>{
                "test.yaml:4:21: listen[0].tls.certificates: expected at least one "
                "{cert: FILE, key: FILE}, got a list",
                "test.yaml:5:20: listen[0].tls.min_version: expected \"1.2\" or \"1.3\" (older "
                "TLS versions are not offered), got \"1.1\"",
                "test.yaml:6:14: listen[0].tls.alpn[0]: unsupported ALPN protocol \"h3\" "
                "(supported: http/1.1)",
                "test.yaml:7:22: listen[0].tls.client_verify: client_verify needs client_ca (the "
                "CA that signs client certificates)",
                "test.yaml:8:7: listen[0].tls.certs: unknown key \"certs\"",
            }));
}

TEST(TlsListenTest, ACertificateNeedsItsKey) {
  const std::vector<std::string> errors = yamlErrors(withListen(
      "  - address: 127.0.0.1:8443\n"
      "    tls: { certificates: [{ cert: a.pem }] }\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("listen[0].tls.certificates[0]: missing required key \"key\""),
            std::string::npos)
      << errors[0];
}

TEST(TlsListenTest, AnAddressIsListedOnceWhateverItsForm) {
  const std::vector<std::string> errors = yamlErrors(withListen(
      "  - 127.0.0.1:8443\n"
      "  - address: 127.0.0.1:8443\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("listed twice"), std::string::npos) << errors[0];
}

TEST(UpstreamTlsTest, VerificationIsOnByDefault) {
  const ConfigPtr config = loadedYaml(withListen("  - 127.0.0.1:8080\n",
                                                 "    tls: { enabled: true }\n"));
  ASSERT_NE(config, nullptr);
  ASSERT_TRUE(config->upstreams[0].tls);
  const UpstreamTlsConfig& tls = *config->upstreams[0].tls;
  EXPECT_TRUE(tls.verify);
  EXPECT_FALSE(tls.ca) << "the system's trust store";
  EXPECT_EQ(tls.server_name, "");
  EXPECT_EQ(tls.min_version, TlsVersion::Tls12);
}

TEST(UpstreamTlsTest, EveryKey) {
  const ConfigPtr config = loadedYaml(withListen(
      "  - 127.0.0.1:8080\n",
      "    tls:\n"
      "      ca: /etc/edge/origin-ca.pem\n"
      "      verify: false\n"
      "      server_name: api.internal\n"
      "      client_cert: /etc/edge/me.pem\n"
      "      client_key: /etc/edge/me.key\n"
      "      min_version: \"1.3\"\n"));
  ASSERT_NE(config, nullptr);
  const UpstreamTlsConfig& tls = *config->upstreams[0].tls;
  EXPECT_EQ(tls.ca->path, "/etc/edge/origin-ca.pem");
  EXPECT_FALSE(tls.verify);
  EXPECT_EQ(tls.server_name, "api.internal");
  EXPECT_EQ(tls.client_cert->path, "/etc/edge/me.pem");
  EXPECT_EQ(tls.client_key->path, "/etc/edge/me.key");
  EXPECT_EQ(tls.min_version, TlsVersion::Tls13);
}

TEST(UpstreamTlsTest, EnabledFalseMeansPlainTcp) {
  const ConfigPtr config = loadedYaml(withListen("  - 127.0.0.1:8080\n",
                                                 "    tls: { enabled: false, ca: x.pem }\n"));
  ASSERT_NE(config, nullptr);
  EXPECT_FALSE(config->upstreams[0].tls);
}

TEST(UpstreamTlsTest, AClientCertificateNeedsItsKey) {
  const std::vector<std::string> errors = yamlErrors(withListen(
      "  - 127.0.0.1:8080\n", "    tls: { client_cert: me.pem }\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("client_cert and client_key go together"), std::string::npos)
      << errors[0];
}

TEST(UpgradeTest, RoutesTunnelWebSocketsByDefaultAndMayChoose) {
  const ConfigPtr config = loadedYaml(
      "listen: 127.0.0.1:8080\n"
      "upstreams: { app: { servers: [127.0.0.1:3000] } }\n"
      "routes:\n"
      "  - { match: { path: /ws }, upstream: app }\n"
      "  - { match: { path: /none }, upstream: app, upgrade: [] }\n"
      "  - { match: { path: /more }, upstream: app, upgrade: [WebSocket, h2c] }\n");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->routes[0].upgrade, (std::vector<std::string>{"websocket"}));
  EXPECT_TRUE(config->routes[1].upgrade.empty());
  EXPECT_EQ(config->routes[2].upgrade, (std::vector<std::string>{"websocket", "h2c"}));
}

TEST(UpgradeTest, TunnelLimitsHaveDefaultsAndKeys) {
  const ConfigPtr defaults = loaded("");
  ASSERT_NE(defaults, nullptr);
  EXPECT_EQ(defaults->client_timeouts.tunnel_idle, 1h);
  EXPECT_EQ(defaults->limits.max_tunnels, 50'000u);
  const ConfigPtr config = loaded(
      "client_timeouts: { tunnel_idle: 90s }\n"
      "limits: { max_tunnels: 10 }\n");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->client_timeouts.tunnel_idle, 90s);
  EXPECT_EQ(config->limits.max_tunnels, 10u);
}

TEST(UpgradeTest, AnUpgradeTokenMustBeAToken) {
  const std::vector<std::string> errors = yamlErrors(
      "listen: 127.0.0.1:8080\n"
      "upstreams: { app: { servers: [127.0.0.1:3000] } }\n"
      "routes:\n"
      "  - { match: { path: /ws }, upstream: app, upgrade: [\"web socket\"] }\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("routes[0].upgrade[0]"), std::string::npos) << errors[0];
}

}  // namespace
}  // namespace edge::config
