#include "proxy/tls/tls_socket.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <string>

#include "tests/unit/proxy/tls/tls_pair.h"

namespace edge::tls::testing {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string peerName(const TlsRecorder& side) {
  return commonName(SSL_get0_peer_certificate(side.ssl));
}

// Sets *flag once the SSL has read a ClientHello: the handshake is then under way.
void watchForClientHello(SSL* ssl, bool* flag) {
  SSL_set_msg_callback(ssl, [](int write_p, int /*version*/, int content_type, const void* buf,
                               size_t len, SSL* /*ssl*/, void* arg) {
    if (write_p == 0 && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
        static_cast<const unsigned char*>(buf)[0] == SSL3_MT_CLIENT_HELLO) {
      *static_cast<bool*>(arg) = true;
    }
  });
  SSL_set_msg_callback_arg(ssl, flag);
}

class TlsSocketTest : public TlsPairTest {
 protected:
  // A client that does not verify the server (for names no certificate covers).
  TlsRecorder& connectUnverified(const std::string& server_name) {
    config::UpstreamConfig up = upstreamConfig(server_name);
    up.tls->verify = false;
    client_context_ = clientContext(up);
    return connectTo(server_name);
  }

  // A connection through its handshake, both ends connected (neither reads yet).
  TlsRecorder& openPair(const std::string& server_name = "default.test",
                        ClientSessionSlot* slot = nullptr) {
    TlsRecorder& client = connectTo(server_name, slot);
    handshake(client);
    EXPECT_EQ(client.connected, 0) << client.tls->errorDetail();
    EXPECT_EQ(server().connected, 0) << server().tls->errorDetail();
    return client;
  }
};

// ---- handshake -----------------------------------------------------------------------------

TEST_F(TlsSocketTest, TheHandshakeConnectsBothEndsWithAlpnAndTheDefaultCertificate) {
  useServer(serverConfig());
  TlsRecorder& client = connectTo("default.test");
  ASSERT_TRUE(handshake(client));
  EXPECT_EQ(client.connected, 0) << client.tls->errorDetail();
  EXPECT_EQ(server().connected, 0) << server().tls->errorDetail();
  EXPECT_EQ(client.connects, 1);
  EXPECT_EQ(server().connects, 1);
  EXPECT_EQ(server().tls->failure(), HandshakeFailure::None);
  EXPECT_EQ(client.tls->alpn(), "http/1.1");
  EXPECT_EQ(server().tls->alpn(), "http/1.1");
  EXPECT_FALSE(client.tls->resumed());
  EXPECT_FALSE(server().tls->resumed());
  EXPECT_EQ(peerName(client), "default");
  EXPECT_EQ(server().tls->peerSubject(), "") << "no client certificate";
  EXPECT_TRUE(client.tls->peerSubject().find("CN=default") != std::string::npos)
      << client.tls->peerSubject();
}

TEST_F(TlsSocketTest, WithoutACommonProtocolAlpnStaysEmpty) {
  useServer(serverConfig());
  SSL* ssl = clientContext(upstreamConfig("default.test"))->newConnection({"127.0.0.1", port_});
  static constexpr unsigned char kH2[] = "\x02h2";
  SSL_set_alpn_protos(ssl, kH2, sizeof kH2 - 1);
  TlsRecorder& client = connectTls(ssl);
  ASSERT_TRUE(handshake(client));
  EXPECT_EQ(client.connected, 0) << client.tls->errorDetail();
  EXPECT_EQ(client.tls->alpn(), "");
  EXPECT_EQ(server().tls->alpn(), "");
}

TEST_F(TlsSocketTest, SniPicksTheWildcardCertificate) {
  useServer(serverConfig());
  TlsRecorder& client = connectTo("x.example.test");  // verified against *.example.test
  ASSERT_TRUE(handshake(client));
  EXPECT_EQ(client.connected, 0) << client.tls->errorDetail();
  EXPECT_EQ(peerName(client), "wildcard");
}

TEST_F(TlsSocketTest, AnUnknownNameGetsTheDefaultCertificate) {
  useServer(serverConfig());
  TlsRecorder& client = connectUnverified("unknown.test");
  ASSERT_TRUE(handshake(client));
  EXPECT_EQ(client.connected, 0) << client.tls->errorDetail();
  EXPECT_EQ(peerName(client), "default");
}

TEST_F(TlsSocketTest, AClientWithoutSniGetsTheDefaultCertificate) {
  useServer(serverConfig());
  TlsRecorder& client = connectUnverified("");  // the server's address: no SNI
  ASSERT_TRUE(handshake(client));
  EXPECT_EQ(client.connected, 0) << client.tls->errorDetail();
  EXPECT_EQ(peerName(client), "default");
}

TEST_F(TlsSocketTest, AnAddressIsVerifiedAgainstTheCertificatesIpAddresses) {
  config::TlsListenerConfig tls = serverConfig();
  tls.certificates = {pki_.issue("by-address", {"IP:127.0.0.1"})};
  useServer(tls);
  TlsRecorder& client = connectTo("");  // no server name: the server's address 127.0.0.1
  ASSERT_TRUE(handshake(client));
  EXPECT_EQ(client.connected, 0) << client.tls->errorDetail();
  EXPECT_EQ(peerName(client), "by-address");
}

TEST_F(TlsSocketTest, AnAddressTheCertificateDoesNotNameIsRefused) {
  useServer(serverConfig());  // DNS names only
  TlsRecorder& client = connectTo("");
  ASSERT_TRUE(handshake(client));
  EXPECT_EQ(client.connected, UV_EPROTO);
  EXPECT_TRUE(contains(client.tls->errorDetail(), "IP address mismatch"))
      << client.tls->errorDetail();
}

TEST_F(TlsSocketTest, StrictSniRefusesAnUnknownName) {
  config::TlsListenerConfig tls = serverConfig();
  tls.strict_sni = true;
  useServer(tls);
  TlsRecorder& client = connectUnverified("unknown.test");
  ASSERT_TRUE(handshake(client));
  EXPECT_EQ(client.connected, UV_EPROTO);
  EXPECT_TRUE(contains(client.tls->errorDetail(), "unrecognized name"))
      << client.tls->errorDetail();
  EXPECT_EQ(server().connects, 0);
  EXPECT_EQ(server().read_end, UV_EPROTO);
  EXPECT_EQ(server().tls->failure(), HandshakeFailure::UnknownSni);
  EXPECT_EQ(server().tls->errorDetail(), "no certificate for the requested server name");
}

TEST_F(TlsSocketTest, StrictSniAcceptsANameACertificateCovers) {
  config::TlsListenerConfig tls = serverConfig();
  tls.strict_sni = true;
  useServer(tls);
  TlsRecorder& client = connectTo("x.example.test");
  ASSERT_TRUE(handshake(client));
  EXPECT_EQ(client.connected, 0) << client.tls->errorDetail();
  EXPECT_EQ(server().connected, 0);
  EXPECT_EQ(peerName(client), "wildcard");
}

TEST_F(TlsSocketTest, AClientRefusesACertificateForAnotherHostName) {
  useServer(serverConfig());
  TlsRecorder& client = connectTo("wrong.test");  // gets default.test's certificate
  ASSERT_TRUE(handshake(client));
  EXPECT_EQ(client.connected, UV_EPROTO);
  EXPECT_EQ(client.connects, 1);
  EXPECT_TRUE(contains(client.tls->errorDetail(), "hostname")) << client.tls->errorDetail();
  EXPECT_TRUE(contains(client.tls->errorDetail(), "certificate verify failed"))
      << client.tls->errorDetail();
  EXPECT_EQ(server().connects, 0);
  EXPECT_EQ(server().read_end, UV_EPROTO) << "the client's alert fails the server's handshake";
  EXPECT_NE(server().tls->failure(), HandshakeFailure::None);
}

TEST_F(TlsSocketTest, AClientRefusesACertificateFromAnUnknownCa) {
  Authority other("another CA");
  config::TlsListenerConfig tls = serverConfig();
  tls.certificates = {pki_.issue("stranger", {"default.test"}, {}, &other)};
  useServer(tls);
  TlsRecorder& client = connectTo("default.test");
  ASSERT_TRUE(handshake(client));
  EXPECT_EQ(client.connected, UV_EPROTO);
  EXPECT_TRUE(contains(client.tls->errorDetail(), "certificate verify failed"))
      << client.tls->errorDetail();
  EXPECT_TRUE(contains(client.tls->errorDetail(), "issuer")) << client.tls->errorDetail();
}

TEST_F(TlsSocketTest, AVerifiedClientCertificateGivesThePeerSubject) {
  config::TlsListenerConfig tls = serverConfig();
  tls.client_ca = config::FileSetting{pki_.caFile(), {}};
  useServer(tls);
  config::CertificateFiles mine = pki_.issue("client-one", {});
  config::UpstreamConfig up = upstreamConfig("default.test");
  up.tls->client_cert = mine.cert;
  up.tls->client_key = mine.key;
  client_context_ = clientContext(up);
  TlsRecorder& client = openPair();
  EXPECT_TRUE(contains(server().tls->peerSubject(), "CN=client-one"))
      << server().tls->peerSubject();
  EXPECT_EQ(client.connected, 0);
}

TEST_F(TlsSocketTest, ARequiredClientCertificateThatIsMissingFailsTheServerHandshake) {
  config::TlsListenerConfig tls = serverConfig();
  tls.client_ca = config::FileSetting{pki_.caFile(), {}};
  useServer(tls);
  TlsRecorder& client = connectTo("default.test");
  // TLS 1.3: the client is done before the server has looked at its (missing) certificate.
  runUntil([&] { return !servers_.empty() && server().read_ends > 0; },
           "the server's failed handshake");
  EXPECT_EQ(server().connects, 0);
  EXPECT_EQ(server().read_end, UV_EPROTO);
  EXPECT_EQ(server().tls->failure(), HandshakeFailure::ClientCert)
      << server().tls->errorDetail();
  client.socket->startReading();
  runUntil([&] { return client.connected != 1 && (client.connected != 0 || client.read_ends > 0); },
           "the client hearing of it");
  EXPECT_TRUE(client.connected == UV_EPROTO || client.read_end == UV_EPROTO)
      << client.connected << " " << client.read_end;
}

// ---- data ----------------------------------------------------------------------------------

TEST_F(TlsSocketTest, SeveralMegabytesBothWaysArriveByteExact) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  auto up = patternBuffer(1024 * 1024, 21);
  auto down = patternBuffer(1024 * 1024, 22);
  client.keep_data = false;
  server().keep_data = false;
  server().expectPattern(*up);
  client.expectPattern(*down);
  client.socket->startReading();
  server().socket->startReading();
  constexpr int kRounds = 4;
  for (int round = 0; round < kRounds; ++round) {
    for (auto [side, body] : {std::pair{&client, up}, std::pair{&server(), down}}) {
      // An owned copy, small shared slices (gathered into one record), then a big slice.
      side->socket->write(body->substr(0, 1000));
      side->socket->writeShared(body, 1000, 100);
      side->socket->writeShared(body, 1100, 3000);
      side->socket->writeShared(body, 4100, body->size() - 4100);
      side->socket->flush();
    }
  }
  EXPECT_EQ(up.use_count(), 1) << "flush encrypted the slices; no reference is kept";
  EXPECT_EQ(down.use_count(), 1);
  const size_t total = kRounds * up->size();
  runUntil([&] { return server().received == total && client.received == total; },
           "every byte at both ends");
  EXPECT_EQ(server().received, total);
  EXPECT_EQ(client.received, total);
  EXPECT_EQ(server().pattern_mismatches, 0u);
  EXPECT_EQ(client.pattern_mismatches, 0u);
  runUntil([&] { return client.socket->queuedBytes() == 0 && server().socket->queuedBytes() == 0; },
           "empty queues");
  EXPECT_EQ(client.write_errors + server().write_errors, 0);
}

TEST_F(TlsSocketTest, ManySmallWritesArriveInOrder) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  server().socket->startReading();
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    std::string piece = "<" + std::to_string(i) + ">";
    expected += piece;
    client.socket->write(std::move(piece));
    if (i % 97 == 0) {
      client.socket->flush();
    }
  }
  client.socket->flush();
  runUntil([&] { return server().received >= expected.size(); }, "every byte at the server");
  EXPECT_TRUE(server().data == expected);
}

TEST_F(TlsSocketTest, PlaintextWrittenDuringTheHandshakeGoesOutOnceItIsDone) {
  useServer(serverConfig());
  TlsRecorder& client = connectTo("default.test");
  client.socket->write("early ");
  client.socket->writeShared(std::make_shared<const std::string>("--bird--"), 2, 4);
  client.socket->flush();  // nothing to do yet
  EXPECT_EQ(client.socket->queuedBytes(), 10u);
  runUntil([&] { return !servers_.empty(); }, "the accepted connection");
  server().on_connected = [&] { server().socket->startReading(); };
  runUntil([&] { return server().received == 10; }, "the early bytes at the server");
  EXPECT_EQ(server().data, "early bird");
  EXPECT_EQ(client.connected, 0);
}

TEST_F(TlsSocketTest, EmptyWritesAreIgnored) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  client.socket->write(std::string());
  client.socket->writeShared(std::make_shared<const std::string>("abc"), 1, 0);
  EXPECT_EQ(client.socket->queuedBytes(), 0u);
  client.socket->write("x");
  EXPECT_EQ(client.socket->queuedBytes(), 1u) << "unflushed plaintext counts";
  client.socket->flush();
  server().socket->startReading();
  runUntil([&] { return server().received == 1; }, "the byte at the server");
}

// ---- backpressure --------------------------------------------------------------------------

TEST_F(TlsSocketTest, APeerThatDoesNotReadCongestsAndOneWritableNoticeFollowsItsReading) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  auto body = patternBuffer(1024 * 1024, 31);
  server().keep_data = false;
  server().expectPattern(*body);
  size_t written = 0;
  bool congested = false;
  for (int i = 0; i < 1024 && !congested; ++i) {
    client.socket->writeShared(body, 0, body->size());
    client.socket->flush();
    written += body->size();
    congested = client.socket->congested();
  }
  ASSERT_TRUE(congested) << "the queue never passed the high mark";
  EXPECT_GT(client.socket->queuedBytes(), kMarks.high);
  EXPECT_EQ(client.writable, 0) << "asking does not notify";
  EXPECT_EQ(server().received, 0u);
  server().socket->startReading();
  runUntil([&] { return client.writable > 0; }, "the writable notice");
  EXPECT_EQ(client.writable, 1);
  EXPECT_LT(client.queued_when_writable, kMarks.low);
  runUntil([&] { return server().received == written; }, "every byte at the server");
  runUntil([&] { return client.socket->queuedBytes() == 0; }, "an empty queue");
  EXPECT_EQ(client.writable, 1) << "one notice per wait";
  EXPECT_EQ(server().pattern_mismatches, 0u);
}

TEST_F(TlsSocketTest, UnflushedPlaintextCountsTowardsCongestion) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  client.socket->write(std::string(kMarks.high + 1, 'x'));
  EXPECT_EQ(client.socket->queuedBytes(), kMarks.high + 1);
  EXPECT_TRUE(client.socket->congested());
  client.socket->cancelWritable();
  client.socket->flush();
  server().socket->startReading();
  runUntil([&] { return server().received == kMarks.high + 1; }, "every byte at the server");
  runUntil([&] { return client.socket->queuedBytes() == 0; }, "an empty queue");
  EXPECT_EQ(client.writable, 0) << "the writer stopped waiting";
}

// ---- pausing -------------------------------------------------------------------------------

TEST_F(TlsSocketTest, DataHeldWhileStoppedIsDeliveredAfterStartReadingButNotInline) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  auto body = patternBuffer(256 * 1024, 41);
  server().keep_data = false;
  server().expectPattern(*body);
  // Stopping inside the first delivery leaves the rest of what TCP read in the SSL.
  server().on_data = [&] {
    server().socket->stopReading();
    server().on_data = nullptr;
  };
  server().socket->startReading();
  client.socket->writeShared(body, 0, body->size());
  client.socket->flush();
  runUntil([&] { return server().received > 0; }, "the first bytes at the server");
  for (int i = 0; i < 20; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  const size_t held_back_at = server().received;
  EXPECT_LT(held_back_at, body->size());
  EXPECT_FALSE(server().socket->reading());
  ASSERT_TRUE(SSL_pending(server().ssl) > 0 || BIO_ctrl_pending(SSL_get_rbio(server().ssl)) > 0)
      << "the test needs plaintext held in the SSL";
  server().socket->startReading();
  EXPECT_TRUE(server().socket->reading());
  EXPECT_EQ(server().received, held_back_at) << "nothing is delivered inline";
  runUntil([&] { return server().received == body->size(); }, "every byte at the server");
  EXPECT_EQ(server().pattern_mismatches, 0u);
  EXPECT_EQ(server().read_ends, 0);
}

TEST_F(TlsSocketTest, ACloseNotifyBehindHeldDataEndsReadingAfterTheLastByte) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  auto body = patternBuffer(256 * 1024, 43);
  server().keep_data = false;
  server().expectPattern(*body);
  server().on_data = [&] {
    server().socket->stopReading();
    server().on_data = nullptr;
  };
  size_t received_at_end = 0;
  server().on_read_end = [&] { received_at_end = server().received; };
  server().socket->startReading();
  client.socket->writeShared(body, 0, body->size());
  ASSERT_EQ(client.socket->shutdown(), 0);
  runUntil([&] { return server().received > 0 && !server().socket->reading(); },
           "the server paused");
  for (int i = 0; i < 20; ++i) {
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  EXPECT_EQ(server().read_ends, 0) << "the end waits behind the held bytes";
  server().socket->startReading();
  runUntil([&] { return server().read_ends > 0; }, "the end of input");
  EXPECT_EQ(server().read_end, UV_EOF);
  EXPECT_EQ(received_at_end, body->size());
  EXPECT_EQ(server().pattern_mismatches, 0u);
  runUntil([&] { return client.shutdown != 1; }, "the client's shutdown result");
  EXPECT_EQ(client.shutdown, 0);
}

TEST_F(TlsSocketTest, StopAndStartWithNothingHeldJustResumesTheStream) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  server().socket->startReading();
  server().socket->stopReading();
  server().socket->startReading();
  client.socket->write("after the pause");
  client.socket->flush();
  runUntil([&] { return server().received == 15; }, "the bytes at the server");
  EXPECT_EQ(server().data, "after the pause");
}

TEST_F(TlsSocketTest, CloseWhileHeldDataWaitsForTheIdleHandleIsNotifiedOnceWithNoData) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  auto body = patternBuffer(256 * 1024, 45);
  server().keep_data = false;
  server().on_data = [&] {
    server().socket->stopReading();
    server().on_data = nullptr;
  };
  server().socket->startReading();
  client.socket->writeShared(body, 0, body->size());
  client.socket->flush();
  runUntil([&] { return server().received > 0; }, "the first bytes at the server");
  const size_t received = server().received;
  server().socket->startReading();  // schedules the delivery of what the SSL holds
  server().socket->close();
  runUntil([&] { return server().closed > 0; }, "the close notice");
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(server().closed, 1);
  EXPECT_EQ(server().received, received) << "nothing delivered after close";
}

TEST_F(TlsSocketTest, ShutdownDuringTheHandshakeSendsWhatWasWrittenThenEnds) {
  // Socket::shutdown(): "Flushes, then closes the write side once everything queued is sent".
  // A TLS client that writes and shuts down before its handshake is done still sends its
  // Finished and its plaintext, and only then ends its side.
  useServer(serverConfig());
  TlsRecorder& client = connectTo("default.test");
  client.socket->write("request");
  ASSERT_EQ(client.socket->shutdown(), 0);
  runUntil([&] { return !servers_.empty(); }, "the accepted connection");
  server().on_connected = [&] { server().socket->startReading(); };
  runUntil([&] { return client.connected != 1; }, "the client's handshake result");
  ASSERT_EQ(client.connected, 0) << client.tls->errorDetail();
  runUntil([&] { return server().read_ends > 0; }, "the end at the server");
  EXPECT_EQ(server().connected, 0) << server().tls->errorDetail();
  EXPECT_EQ(server().data, "request");
  EXPECT_EQ(server().read_end, UV_EOF);
}

// ---- ending --------------------------------------------------------------------------------

TEST_F(TlsSocketTest, ShutdownSendsCloseNotifyThenEndsTheTcpWriteSide) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  server().socket->startReading();
  client.socket->startReading();
  client.socket->write("last words");
  ASSERT_EQ(client.socket->shutdown(), 0);
  runUntil([&] { return server().read_ends > 0 && client.shutdown != 1; },
           "the end at the server and the shutdown result");
  EXPECT_EQ(server().data, "last words");
  EXPECT_EQ(server().read_end, UV_EOF);
  EXPECT_EQ(client.shutdown, 0);
  // The other direction still works until the server ends it too.
  server().socket->write("reply");
  ASSERT_EQ(server().socket->shutdown(), 0);
  runUntil([&] { return client.read_ends > 0; }, "the end at the client");
  EXPECT_EQ(client.data, "reply");
  EXPECT_EQ(client.read_end, UV_EOF);
}

TEST_F(TlsSocketTest, ATcpEndWithoutCloseNotifyEndsReadingAfterTheData) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  client.socket->startReading();
  server().socket->write("bytes then a bare FIN");
  server().socket->flush();
  runUntil([&] { return client.received == 21; }, "the bytes at the client");
  server().socket->close();
  runUntil([&] { return client.read_ends > 0; }, "the end at the client");
  EXPECT_EQ(client.data, "bytes then a bare FIN");
  EXPECT_TRUE(client.read_end == UV_EOF || client.read_end == UV_ECONNRESET) << client.read_end;
}

TEST_F(TlsSocketTest, CloseWithQueuedDataDropsItAndNotifiesOnce) {
  useServer(serverConfig());
  TlsRecorder& client = openPair();
  auto body = patternBuffer(1024 * 1024, 51);
  for (int i = 0; i < 64 && !client.socket->congested(); ++i) {
    client.socket->writeShared(body, 0, body->size());
    client.socket->flush();
  }
  client.socket->write("unflushed");
  client.socket->close();
  client.socket->close();  // idempotent
  EXPECT_TRUE(client.socket->closed());
  runUntil([&] { return client.closed > 0; }, "the close notice");
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(client.closed, 1);
  EXPECT_EQ(client.write_errors + client.writable + client.progress, 0);
  EXPECT_EQ(body.use_count(), 1);
}

// ---- failed handshakes ---------------------------------------------------------------------

TEST_F(TlsSocketTest, PlainHttpToTheTlsPortGetsA400AndFailsAsPlainHttp) {
  useServer(serverConfig());
  TlsRecorder& client = connectPlain();
  runUntil([&] { return client.connected == 0; }, "the TCP connection");
  client.socket->startReading();
  client.socket->write("GET / HTTP/1.1\r\nHost: edge.test\r\n\r\n");
  client.socket->flush();
  runUntil([&] { return !servers_.empty() && server().read_ends > 0 && client.received >= 12; },
           "the failed handshake and the reply");
  EXPECT_EQ(server().read_end, UV_EPROTO);
  EXPECT_EQ(server().connects, 0);
  EXPECT_EQ(server().tls->failure(), HandshakeFailure::PlainHttp);
  EXPECT_EQ(client.data.rfind("HTTP/1.1 400", 0), 0u) << client.data;
  // The server gives up on the connection; the client sees the reply, then the end.
  server().socket->close();
  runUntil([&] { return client.read_ends > 0; }, "the end at the client");
  EXPECT_TRUE(contains(client.data, "\r\n\r\n")) << client.data;
}

TEST_F(TlsSocketTest, ThePlainHttpReplyOutlivesACloseFromTheReadEndNotice) {
  useServer(serverConfig());
  TlsRecorder& client = connectPlain();
  runUntil([&] { return client.connected == 0; }, "the TCP connection");
  runUntil([&] { return !servers_.empty(); }, "the accepted connection");
  TlsRecorder& accepted = server();
  accepted.on_read_end = [&] { accepted.socket->close(); };  // as a connection gives up
  client.socket->startReading();
  client.socket->write("HEAD /favicon.ico HTTP/1.1\r\nHost: edge.test\r\n\r\n");
  client.socket->flush();
  runUntil([&] { return client.read_ends > 0; }, "the end at the client");
  EXPECT_EQ(accepted.closed, 1);
  EXPECT_EQ(client.data.rfind("HTTP/1.1 400", 0), 0u) << client.data;
}

TEST_F(TlsSocketTest, GarbageFailsTheHandshakeAsProtocol) {
  useServer(serverConfig());
  TlsRecorder& client = connectPlain();
  runUntil([&] { return client.connected == 0; }, "the TCP connection");
  client.socket->startReading();
  client.socket->write("SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n");
  client.socket->flush();
  runUntil([&] { return !servers_.empty() && server().read_ends > 0; }, "the failed handshake");
  EXPECT_EQ(server().read_end, UV_EPROTO);
  EXPECT_EQ(server().connects, 0);
  EXPECT_EQ(server().tls->failure(), HandshakeFailure::Protocol) << server().tls->errorDetail();
  EXPECT_FALSE(server().tls->errorDetail().empty());
  server().socket->close();
  runUntil([&] { return client.read_ends > 0; }, "the end at the client");
  EXPECT_NE(client.data.rfind("HTTP/", 0), 0u) << "only plain HTTP gets an HTTP reply";
}

TEST_F(TlsSocketTest, ABadHandshakeRecordFailsAsProtocol) {
  useServer(serverConfig());
  TlsRecorder& client = connectPlain();
  runUntil([&] { return client.connected == 0; }, "the TCP connection");
  // A handshake record holding a message type that does not exist.
  client.socket->write(std::string("\x16\x03\x01\x00\x08\xfe\x00\x00\x04\x01\x02\x03\x04", 13));
  client.socket->flush();
  runUntil([&] { return !servers_.empty() && server().read_ends > 0; }, "the failed handshake");
  EXPECT_EQ(server().read_end, UV_EPROTO);
  EXPECT_EQ(server().tls->failure(), HandshakeFailure::Protocol) << server().tls->errorDetail();
}

TEST_F(TlsSocketTest, APeerThatLeavesDuringTheHandshakeFailsItAsOther) {
  useServer(serverConfig());
  TlsRecorder& client = connectPlain();
  runUntil([&] { return client.connected == 0; }, "the TCP connection");
  client.socket->write(std::string("\x16\x03\x01", 3));  // the start of a record, no more
  client.socket->flush();
  client.socket->shutdown();
  runUntil([&] { return !servers_.empty() && server().read_ends > 0; }, "the failed handshake");
  EXPECT_EQ(server().read_end, UV_EPROTO);
  EXPECT_EQ(server().tls->failure(), HandshakeFailure::Other) << server().tls->errorDetail();
  EXPECT_EQ(server().tls->errorDetail(), "connection closed during the handshake");
}

// ---- closing during the handshake ----------------------------------------------------------

TEST_F(TlsSocketTest, AClientClosedDuringItsHandshakeIsClosedOnceAndNeverConnected) {
  useServer(serverConfig());
  bool hello = false;
  on_server_ssl = [&](SSL* ssl) { watchForClientHello(ssl, &hello); };
  TlsRecorder& client = connectTo("default.test");
  runUntil([&] { return hello; }, "the ClientHello at the server");
  client.socket->close();
  runUntil([&] { return client.closed > 0; }, "the close notice");
  runUntil([&] { return server().read_ends > 0; }, "the server's end");
  EXPECT_EQ(client.closed, 1);
  EXPECT_EQ(client.connects, 0) << "no handshake result after close";
  EXPECT_EQ(client.calls_after_close, 0);
  EXPECT_EQ(server().connects, 0);
  EXPECT_EQ(server().read_end, UV_EPROTO);
  EXPECT_NE(server().tls->failure(), HandshakeFailure::None);
}

TEST_F(TlsSocketTest, AServerClosedDuringItsHandshakeIsClosedOnce) {
  useServer(serverConfig());
  bool hello = false;
  on_server_ssl = [&](SSL* ssl) {
    watchForClientHello(ssl, &hello);
    // TLS 1.2: after its first flight the server still waits for the client's Finished (in
    // TLS 1.3 the client would be done once that flight arrived).
    SSL_set_max_proto_version(ssl, TLS1_2_VERSION);
  };
  TlsRecorder& client = connectTo("default.test");
  runUntil([&] { return hello; }, "the ClientHello at the server");
  TlsRecorder& accepted = server();
  accepted.socket->close();
  runUntil([&] { return accepted.closed > 0 && client.connected != 1; },
           "the close notice and the client's result");
  EXPECT_EQ(accepted.closed, 1);
  EXPECT_EQ(accepted.connects + accepted.read_ends + accepted.write_errors, 0);
  EXPECT_EQ(accepted.calls_after_close, 0);
  EXPECT_EQ(client.connected, UV_EPROTO);
  EXPECT_EQ(client.tls->errorDetail(), "connection closed during the handshake");
}

TEST_F(TlsSocketTest, AClientClosedBeforeTcpConnectedHearsOnlyTheClose) {
  useServer(serverConfig());
  TlsRecorder& client = connectTo("default.test");
  client.socket->close();
  runUntil([&] { return client.closed > 0; }, "the close notice");
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(client.connects, 0);
  EXPECT_EQ(client.closed, 1);
}

TEST_F(TlsSocketTest, ClosingFromInsideTheConnectedNoticeEndsAllOtherCallbacks) {
  useServer(serverConfig());
  TlsRecorder& client = connectTo("default.test");
  client.socket->write("sent during the handshake");
  runUntil([&] { return !servers_.empty(); }, "the accepted connection");
  TlsRecorder& accepted = server();
  accepted.on_connected = [&] { accepted.socket->close(); };
  runUntil([&] { return accepted.closed > 0; }, "the server's close notice");
  EXPECT_EQ(accepted.connects, 1);
  EXPECT_EQ(accepted.received, 0u);
}

// ---- resumption ----------------------------------------------------------------------------

TEST_F(TlsSocketTest, ASecondConnectionResumesWithTheTicketKeptInTheSlot) {
  useServer(serverConfig());
  ClientSessionSlot slot;
  TlsRecorder& first = openPair("default.test", &slot);
  EXPECT_FALSE(first.tls->resumed());
  // The ticket comes after the handshake: the client reads it before the server's bytes.
  first.socket->startReading();
  server().socket->write("hello");
  server().socket->flush();
  runUntil([&] { return first.received == 5; }, "the server's bytes at the client");
  // Closed without a TLS shutdown: the session stays resumable.
  first.socket->close();
  server().socket->close();
  runUntil([&] { return first.closed > 0 && server().closed > 0; }, "both closed");

  TlsRecorder& second = openPair("default.test", &slot);
  EXPECT_TRUE(second.tls->resumed());
  EXPECT_TRUE(server().tls->resumed());
  EXPECT_EQ(second.tls->alpn(), "http/1.1");
  server().socket->startReading();
  second.socket->write("resumed");
  second.socket->flush();
  runUntil([&] { return server().received == 7; }, "the bytes over the resumed connection");
}

TEST_F(TlsSocketTest, AResumedConnectionBringsTheNextTicket) {
  // The slot offers each ticket once (TLS 1.3), so a resumed connection must bring the next
  // ticket: OpenSSL sends one after a resumption only when the ticket callback asks for
  // renewal, which it always does.
  useServer(serverConfig());
  ClientSessionSlot slot;
  for (int i = 0; i < 4; ++i) {
    TlsRecorder& client = openPair("x.example.test", &slot);  // on the SNI-chosen context
    EXPECT_EQ(client.tls->resumed(), i > 0) << "connection " << i;
    EXPECT_EQ(server().tls->resumed(), i > 0) << "connection " << i;
    EXPECT_EQ(peerName(client), "wildcard");
    client.socket->startReading();
    server().socket->write("x");
    server().socket->flush();
    runUntil([&] { return client.received == 1; }, "the ticket and a byte at the client");
    client.socket->close();
    server().socket->close();
  }
}

TEST_F(TlsSocketTest, Tls12SessionsResumeToo) {
  useServer(serverConfig());
  on_server_ssl = [](SSL* ssl) { SSL_set_max_proto_version(ssl, TLS1_2_VERSION); };
  ClientSessionSlot slot;
  TlsRecorder& first = openPair("default.test", &slot);
  EXPECT_EQ(SSL_version(first.ssl), TLS1_2_VERSION);
  EXPECT_FALSE(first.tls->resumed());
  first.socket->close();
  server().socket->close();
  runUntil([&] { return first.closed > 0; }, "the first closed");
  TlsRecorder& second = openPair("default.test", &slot);
  EXPECT_EQ(SSL_version(second.ssl), TLS1_2_VERSION);
  EXPECT_TRUE(second.tls->resumed());
  EXPECT_TRUE(server().tls->resumed());
}

TEST_F(TlsSocketTest, EachKeptSessionIsOfferedOnce) {
  useServer(serverConfig());
  ClientSessionSlot slot;
  TlsRecorder& first = openPair("default.test", &slot);
  first.socket->startReading();
  server().socket->write("x");
  server().socket->flush();
  runUntil([&] { return first.received == 1; }, "the ticket and a byte at the client");
  TlsRecorder& second = openPair("default.test", &slot);
  EXPECT_TRUE(second.tls->resumed());
  // The second connection reads nothing, so it has not taken its new ticket yet.
  TlsRecorder& third = openPair("default.test", &slot);
  EXPECT_FALSE(third.tls->resumed()) << "the one ticket was used already";
  EXPECT_FALSE(server().tls->resumed());
}

TEST_F(TlsSocketTest, WithoutASlotNothingResumes) {
  useServer(serverConfig());
  TlsRecorder& first = openPair();
  first.socket->startReading();
  server().socket->write("x");
  server().socket->flush();
  runUntil([&] { return first.received == 1; }, "a byte at the client");
  TlsRecorder& second = openPair();
  EXPECT_FALSE(second.tls->resumed());
}

TEST_F(TlsSocketTest, TicketsOffMeansNoResumption) {
  config::TlsListenerConfig tls = serverConfig();
  tls.session_tickets = false;
  useServer(tls);
  ClientSessionSlot slot;
  TlsRecorder& first = openPair("default.test", &slot);
  first.socket->startReading();
  server().socket->write("x");
  server().socket->flush();
  runUntil([&] { return first.received == 1; }, "a byte at the client");
  TlsRecorder& second = openPair("default.test", &slot);
  EXPECT_FALSE(second.tls->resumed());
  EXPECT_FALSE(server().tls->resumed());
}

}  // namespace
}  // namespace edge::tls::testing
