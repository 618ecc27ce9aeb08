#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "proxy/tls/client_context.h"
#include "proxy/tls/server_context.h"
#include "tests/unit/proxy/tls/test_pki.h"

namespace edge::tls::testing {
namespace {

const std::string kFile = "edge.yaml";
const config::ConfigPlace kTlsPlace{4, 5, "listen[0].tls"};
const config::ConfigPlace kUpstreamTlsPlace{20, 5, "upstreams.app.tls"};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

void expectAt(const config::ConfigError& e, const config::ConfigPlace& place) {
  EXPECT_EQ(e.file, kFile);
  EXPECT_EQ(e.line, place.line);
  EXPECT_EQ(e.column, place.column);
  EXPECT_EQ(e.key_path, place.key_path);
}

std::string all(const std::vector<config::ConfigError>& list) {
  std::string text;
  for (const config::ConfigError& e : list) {
    text += e.format() + "\n";
  }
  return text;
}

class ServerContextTest : public ::testing::Test {
 protected:
  config::TlsListenerConfig listener(const config::CertificateFiles& files) {
    config::TlsListenerConfig tls;
    tls.certificates.push_back(files);
    tls.place = kTlsPlace;
    return tls;
  }

  std::shared_ptr<const ServerContext> build(const config::TlsListenerConfig& tls) {
    return ServerContext::build(tls, kFile, report_);
  }

  TestPki pki_;
  ConfigReport report_;
};

TEST_F(ServerContextTest, AGoodCertificateBuildsWithoutErrorsOrWarnings) {
  auto context = build(listener(pki_.issue("good", {"good.test"})));
  ASSERT_NE(context, nullptr) << all(report_.errors);
  EXPECT_TRUE(report_.errors.empty());
  EXPECT_TRUE(report_.warnings.empty()) << all(report_.warnings);
  SSL* ssl = context->newConnection();
  ASSERT_NE(ssl, nullptr);
  EXPECT_EQ(commonName(SSL_get_certificate(ssl)), "good");
  SSL_free(ssl);
}

TEST_F(ServerContextTest, SeveralCertificatesAndAClientCaBuild) {
  config::TlsListenerConfig tls = listener(pki_.issue("first", {"first.test"}));
  tls.certificates.push_back(pki_.issue("wild", {"*.example.test"}, {}, nullptr, 14));
  tls.client_ca = config::FileSetting{pki_.caFile(), {18, 16, "listen[0].tls.client_ca"}};
  tls.ciphers = "ECDHE-ECDSA-AES128-GCM-SHA256";
  auto context = build(tls);
  ASSERT_NE(context, nullptr) << all(report_.errors);
  EXPECT_TRUE(report_.warnings.empty()) << all(report_.warnings);
  SSL* ssl = context->newConnection();
  EXPECT_EQ(commonName(SSL_get_certificate(ssl)), "first") << "the first is the default";
  SSL_free(ssl);
}

TEST_F(ServerContextTest, AMissingCertificateFileIsAnErrorAtTheCertPlaceWithTheErrnoText) {
  config::CertificateFiles files = pki_.issue("good", {"good.test"});
  files.cert.path = pki_.dir().path() + "/missing.crt";
  EXPECT_EQ(build(listener(files)), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  const config::ConfigError& e = report_.errors[0];
  expectAt(e, files.cert.place);
  EXPECT_TRUE(contains(e.message, "cannot read " + files.cert.path)) << e.message;
  EXPECT_TRUE(contains(e.message, std::strerror(ENOENT))) << e.message;
}

TEST_F(ServerContextTest, AnUnreadableKeyFileIsAnErrorAtTheKeyPlaceWithTheErrnoText) {
  config::CertificateFiles files = pki_.issue("good", {"good.test"});
  files.key.path = pki_.dir().path() + "/nothing-here/good.key";
  EXPECT_EQ(build(listener(files)), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  const config::ConfigError& e = report_.errors[0];
  expectAt(e, files.key.place);
  EXPECT_TRUE(contains(e.message, "cannot read " + files.key.path)) << e.message;
  EXPECT_TRUE(contains(e.message, std::strerror(ENOENT))) << e.message;
}

TEST_F(ServerContextTest, BothFilesMissingAreTwoErrorsEachAtItsPlace) {
  config::CertificateFiles files = pki_.issue("good", {"good.test"});
  files.cert.path += ".gone";
  files.key.path += ".gone";
  EXPECT_EQ(build(listener(files)), nullptr);
  ASSERT_EQ(report_.errors.size(), 2u) << all(report_.errors);
  expectAt(report_.errors[0], files.cert.place);
  expectAt(report_.errors[1], files.key.place);
}

TEST_F(ServerContextTest, AKeyOfAnotherCertificateIsNotTheKeyOfTheCertificate) {
  config::CertificateFiles files = pki_.issue("one", {"one.test"});
  files.key = pki_.issue("two", {"two.test"}).key;
  files.key.place = {11, 9, "listen[0].tls.certificates[0].key"};
  EXPECT_EQ(build(listener(files)), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  const config::ConfigError& e = report_.errors[0];
  expectAt(e, files.key.place);
  EXPECT_TRUE(contains(e.message, "is not the key of the certificate")) << e.message;
  EXPECT_TRUE(contains(e.message, files.key.path)) << e.message;
  EXPECT_TRUE(contains(e.message, files.cert.path)) << e.message;
}

TEST_F(ServerContextTest, ACertificateFileThatIsNotPemIsAnErrorAtTheCertPlace) {
  config::CertificateFiles files = pki_.issue("good", {"good.test"});
  files.cert.path = pki_.dir().write("notes.txt", "this is not a certificate\n");
  EXPECT_EQ(build(listener(files)), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  expectAt(report_.errors[0], files.cert.place);
  EXPECT_TRUE(contains(report_.errors[0].message, "is not a PEM certificate chain"))
      << report_.errors[0].message;
}

TEST_F(ServerContextTest, AKeyFileThatIsNotPemIsAnErrorAtTheKeyPlace) {
  config::CertificateFiles files = pki_.issue("good", {"good.test"});
  files.key.path = pki_.dir().write("garbage.key", std::string(300, '\x7f'));
  EXPECT_EQ(build(listener(files)), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  expectAt(report_.errors[0], files.key.place);
  EXPECT_TRUE(contains(report_.errors[0].message, "is not a PEM private key"))
      << report_.errors[0].message;
}

TEST_F(ServerContextTest, TheKeyGivenAsCertificateIsNotAPemCertificateChain) {
  config::CertificateFiles files = pki_.issue("good", {"good.test"});
  files.cert.path = files.key.path;
  EXPECT_EQ(build(listener(files)), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  expectAt(report_.errors[0], files.cert.place);
}

TEST_F(ServerContextTest, AnExpiredCertificateIsAWarningNotAnError) {
  config::CertificateFiles files =
      pki_.issue("old", {"old.test"}, Validity{-10L * 24 * 3600, -24L * 3600});
  auto context = build(listener(files));
  EXPECT_NE(context, nullptr) << "an expired certificate does not stop a start";
  EXPECT_TRUE(report_.errors.empty()) << all(report_.errors);
  ASSERT_EQ(report_.warnings.size(), 1u) << all(report_.warnings);
  const config::ConfigError& w = report_.warnings[0];
  expectAt(w, files.cert.place);
  EXPECT_TRUE(contains(w.message, "expired")) << w.message;
  EXPECT_TRUE(contains(w.message, files.cert.path)) << w.message;
}

TEST_F(ServerContextTest, ACertificateNotYetValidIsAWarning) {
  config::CertificateFiles files =
      pki_.issue("future", {"future.test"}, Validity{24L * 3600, 10L * 24 * 3600});
  EXPECT_NE(build(listener(files)), nullptr);
  EXPECT_TRUE(report_.errors.empty()) << all(report_.errors);
  ASSERT_EQ(report_.warnings.size(), 1u) << all(report_.warnings);
  expectAt(report_.warnings[0], files.cert.place);
  EXPECT_TRUE(contains(report_.warnings[0].message, "is not valid before"))
      << report_.warnings[0].message;
}

TEST_F(ServerContextTest, ABadCipherStringIsAnErrorAtItsPlace) {
  config::TlsListenerConfig tls = listener(pki_.issue("good", {"good.test"}));
  tls.ciphers = "NO-SUCH-CIPHER:ALSO-NOT-ONE";
  tls.ciphers_place = config::ConfigPlace{9, 16, "listen[0].tls.ciphers"};
  EXPECT_EQ(build(tls), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  const config::ConfigError& e = report_.errors[0];
  expectAt(e, tls.ciphers_place);
  EXPECT_TRUE(contains(e.message, "no cipher")) << e.message;
  EXPECT_TRUE(contains(e.message, "NO-SUCH-CIPHER")) << e.message;
}

TEST_F(ServerContextTest, AClientCaFileWithoutCertificatesIsAnErrorAtItsPlace) {
  config::TlsListenerConfig tls = listener(pki_.issue("good", {"good.test"}));
  config::ConfigPlace place{18, 16, "listen[0].tls.client_ca"};
  tls.client_ca = config::FileSetting{pki_.dir().write("empty-ca.pem", "nothing\n"), place};
  EXPECT_EQ(build(tls), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  expectAt(report_.errors[0], place);
  EXPECT_TRUE(contains(report_.errors[0].message, "holds no PEM CA certificate"))
      << report_.errors[0].message;
}

TEST_F(ServerContextTest, AMissingClientCaFileIsAnErrorAtItsPlace) {
  config::TlsListenerConfig tls = listener(pki_.issue("good", {"good.test"}));
  config::ConfigPlace place{18, 16, "listen[0].tls.client_ca"};
  tls.client_ca = config::FileSetting{pki_.dir().path() + "/no-ca.pem", place};
  EXPECT_EQ(build(tls), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  expectAt(report_.errors[0], place);
  EXPECT_TRUE(contains(report_.errors[0].message, std::strerror(ENOENT)));
}

TEST_F(ServerContextTest, ABadSecondCertificateFailsTheBuildAndKeepsTheErrorOfTheFirstApart) {
  config::TlsListenerConfig tls = listener(pki_.issue("good", {"good.test"}));
  config::CertificateFiles second = pki_.issue("second", {"second.test"}, {}, nullptr, 14);
  second.key.path += ".gone";
  tls.certificates.push_back(second);
  EXPECT_EQ(build(tls), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  expectAt(report_.errors[0], second.key.place);
}

TEST_F(ServerContextTest, ErrorsAddToAReportThatAlreadyHasSome) {
  report_.error(kFile, kTlsPlace, "an earlier problem");
  auto context = build(listener(pki_.issue("good", {"good.test"})));
  EXPECT_NE(context, nullptr) << "only new errors fail this build";
  EXPECT_EQ(report_.errors.size(), 1u);
}

class ClientContextTest : public ::testing::Test {
 protected:
  config::UpstreamConfig upstream() {
    config::UpstreamConfig up;
    up.name = "app";
    up.servers.push_back({"127.0.0.1", 8443});
    up.tls.emplace();
    up.tls->place = kUpstreamTlsPlace;
    up.tls->ca = config::FileSetting{pki_.caFile(), {21, 11, "upstreams.app.tls.ca"}};
    return up;
  }

  TestPki pki_;
  ConfigReport report_;
};

TEST_F(ClientContextTest, AGoodConfigBuildsAndNamesTheServerInSni) {
  config::UpstreamConfig up = upstream();
  up.tls->server_name = "origin.test";
  auto context = ClientContext::build(up, kFile, report_);
  ASSERT_NE(context, nullptr) << all(report_.errors);
  EXPECT_TRUE(report_.warnings.empty());
  SSL* ssl = context->newConnection(up.servers[0]);
  ASSERT_NE(ssl, nullptr);
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  ASSERT_NE(sni, nullptr);
  EXPECT_STREQ(sni, "origin.test");
  SSL_free(ssl);
}

TEST_F(ClientContextTest, WithoutAServerNameTheHostRewriteThenTheHostIsTheSni) {
  config::UpstreamConfig up = upstream();
  up.host_header = "rewritten.test";
  auto with_rewrite = ClientContext::build(up, kFile, report_);
  ASSERT_NE(with_rewrite, nullptr);
  SSL* ssl = with_rewrite->newConnection({"origin.test", 443});
  EXPECT_STREQ(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), "rewritten.test");
  SSL_free(ssl);

  up.host_header.reset();
  auto plain = ClientContext::build(up, kFile, report_);
  ASSERT_NE(plain, nullptr);
  ssl = plain->newConnection({"origin.test", 443});
  EXPECT_STREQ(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), "origin.test");
  SSL_free(ssl);
  ssl = plain->newConnection({"127.0.0.1", 443});
  EXPECT_EQ(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), nullptr)
      << "no SNI for an address";
  SSL_free(ssl);
}

TEST_F(ClientContextTest, AHostRewriteWithAPortNamesOnlyTheHostInSni) {
  // A Host header may carry a port; SNI and the name verified are the name alone.
  config::UpstreamConfig up = upstream();
  up.host_header = "origin.test:8443";
  auto context = ClientContext::build(up, kFile, report_);
  ASSERT_NE(context, nullptr);
  SSL* ssl = context->newConnection({"10.0.0.1", 8443});
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  ASSERT_NE(sni, nullptr);
  EXPECT_STREQ(sni, "origin.test");
  SSL_free(ssl);

  up.host_header = "[::1]:8443";  // an address: no SNI
  auto by_address = ClientContext::build(up, kFile, report_);
  ASSERT_NE(by_address, nullptr);
  ssl = by_address->newConnection({"10.0.0.1", 8443});
  EXPECT_EQ(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name), nullptr);
  SSL_free(ssl);
}

TEST_F(ClientContextTest, AMissingCaFileIsAnErrorAtTheCaPlace) {
  config::UpstreamConfig up = upstream();
  up.tls->ca->path = pki_.dir().path() + "/missing-ca.pem";
  EXPECT_EQ(ClientContext::build(up, kFile, report_), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  expectAt(report_.errors[0], up.tls->ca->place);
  EXPECT_TRUE(contains(report_.errors[0].message, std::strerror(ENOENT)));
}

TEST_F(ClientContextTest, ANonPemCaFileIsAnErrorAtTheCaPlace) {
  config::UpstreamConfig up = upstream();
  up.tls->ca->path = pki_.dir().write("ca.txt", "-----BEGIN NOTHING-----\n");
  EXPECT_EQ(ClientContext::build(up, kFile, report_), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  expectAt(report_.errors[0], up.tls->ca->place);
  EXPECT_TRUE(contains(report_.errors[0].message, "holds no PEM CA certificate"));
}

TEST_F(ClientContextTest, AClientKeyThatDoesNotMatchItsCertificateIsAnError) {
  config::UpstreamConfig up = upstream();
  config::CertificateFiles mine = pki_.issue("client", {});
  config::CertificateFiles other = pki_.issue("other", {});
  up.tls->client_cert = config::FileSetting{mine.cert.path, {22, 20, "upstreams.app.tls.client_cert"}};
  up.tls->client_key = config::FileSetting{other.key.path, {23, 19, "upstreams.app.tls.client_key"}};
  EXPECT_EQ(ClientContext::build(up, kFile, report_), nullptr);
  ASSERT_EQ(report_.errors.size(), 1u) << all(report_.errors);
  expectAt(report_.errors[0], up.tls->client_key->place);
  EXPECT_TRUE(contains(report_.errors[0].message, "is not the key of the certificate"));
}

TEST_F(ClientContextTest, AnExpiredClientCertificateIsAWarning) {
  config::UpstreamConfig up = upstream();
  config::CertificateFiles mine =
      pki_.issue("client", {}, Validity{-10L * 24 * 3600, -3600});
  up.tls->client_cert = config::FileSetting{mine.cert.path, {22, 20, "upstreams.app.tls.client_cert"}};
  up.tls->client_key = config::FileSetting{mine.key.path, {23, 19, "upstreams.app.tls.client_key"}};
  EXPECT_NE(ClientContext::build(up, kFile, report_), nullptr);
  EXPECT_TRUE(report_.errors.empty()) << all(report_.errors);
  ASSERT_EQ(report_.warnings.size(), 1u);
  expectAt(report_.warnings[0], up.tls->client_cert->place);
  EXPECT_TRUE(contains(report_.warnings[0].message, "expired"));
}

TEST_F(ClientContextTest, TheSystemTrustStoreWhenNoCaIsGiven) {
  config::UpstreamConfig up = upstream();
  up.tls->ca.reset();
  EXPECT_NE(ClientContext::build(up, kFile, report_), nullptr);
  EXPECT_TRUE(report_.errors.empty()) << all(report_.errors);
}

// ---- ClientSessionSlot ---------------------------------------------------------------------

class ClientSessionSlotTest : public ClientContextTest {
 protected:
  void SetUp() override {
    context_ = ClientContext::build(upstream(), kFile, report_);
    ASSERT_NE(context_, nullptr);
  }
  ~ClientSessionSlotTest() override {
    for (SSL_SESSION* session : made_) {
      SSL_SESSION_free(session);
    }
  }

  // A session the slot may offer (it has an id), or one it may not. The test keeps a
  // reference of its own so the pointer stays comparable; the slot gets another.
  SSL_SESSION* session(bool resumable = true) {
    SSL_SESSION* s = SSL_SESSION_new();
    SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION);
    if (resumable) {
      const unsigned char id[] = {static_cast<unsigned char>(made_.size() + 1), 2, 3, 4};
      SSL_SESSION_set1_id(s, id, sizeof id);
    }
    SSL_SESSION_up_ref(s);
    made_.push_back(s);
    return s;
  }

  // The session the slot offers on a new connection (null: none).
  SSL_SESSION* offered(ClientSessionSlot& slot) {
    SSL* ssl = context_->newConnection({"origin.test", 443});
    slot.resume(ssl);
    SSL_SESSION* s = SSL_get_session(ssl);
    SSL_free(ssl);
    return s;
  }

  std::shared_ptr<const ClientContext> context_;
  std::vector<SSL_SESSION*> made_;
};

TEST_F(ClientSessionSlotTest, AnEmptySlotOffersNothing) {
  ClientSessionSlot slot;
  EXPECT_EQ(offered(slot), nullptr);
}

TEST_F(ClientSessionSlotTest, SessionsAreOfferedNewestFirstAndEachOnce) {
  ClientSessionSlot slot;
  SSL_SESSION* a = session();
  SSL_SESSION* b = session();
  SSL_SESSION* c = session();
  slot.keep(a);
  slot.keep(b);
  slot.keep(c);
  EXPECT_EQ(offered(slot), c);
  EXPECT_EQ(offered(slot), b);
  EXPECT_EQ(offered(slot), a);
  EXPECT_EQ(offered(slot), nullptr);
}

TEST_F(ClientSessionSlotTest, AtMostFourAreKeptAndTheOldestGoes) {
  ClientSessionSlot slot;
  std::vector<SSL_SESSION*> kept;
  for (size_t i = 0; i < ClientSessionSlot::kMaxSessions + 1; ++i) {
    kept.push_back(session());
    slot.keep(kept.back());
  }
  for (size_t i = kept.size(); i-- > 1;) {
    EXPECT_EQ(offered(slot), kept[i]);
  }
  EXPECT_EQ(offered(slot), nullptr) << "the first one fell off";
}

TEST_F(ClientSessionSlotTest, ASessionThatIsNotResumableIsSkippedAndDropped) {
  ClientSessionSlot slot;
  SSL_SESSION* good = session();
  SSL_SESSION* bad = session(false);
  slot.keep(good);
  slot.keep(bad);
  EXPECT_EQ(offered(slot), good);
  EXPECT_EQ(offered(slot), nullptr);
}

TEST_F(ClientSessionSlotTest, ASlotDestroyedWithSessionsReleasesThem) {
  SSL_SESSION* s = session();
  {
    ClientSessionSlot slot;
    slot.keep(s);
  }
  // Only the test's own reference is left (ASan would report a leak or a double free).
  SUCCEED();
}

}  // namespace
}  // namespace edge::tls::testing
