// Test support: TLS sockets over loopback on one real uv loop. A listener in the test accepts
// each connection into a server TlsSocket (from a ServerContext built over a TestPki); clients
// are TlsSockets from a ClientContext, or plain TcpSockets that speak something else. As in
// tests/unit/proxy/net/socket_pair.h, tests drive the loop until an event has happened; a
// watchdog only turns a hang into a failure.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <uv.h>

#include <array>
#include <csignal>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "proxy/net/tcp_socket.h"
#include "proxy/tls/client_context.h"
#include "proxy/tls/server_context.h"
#include "proxy/tls/tls_socket.h"
#include "tests/unit/proxy/tls/test_pki.h"

namespace edge::tls::testing {

// Everything a socket told its handler, and hooks to act from inside the callbacks.
class TlsRecorder : public net::SocketHandler {
 public:
  void onSocketConnected(int status) override {
    noteCall();
    ++connects;
    connected = status;
    if (on_connected) {
      on_connected();
    }
  }
  void onSocketData(const char* bytes, size_t len) override {
    noteCall();
    if (connected != 0 && tls != nullptr) {
      ++data_before_connected;
    }
    checkPattern(bytes, len);
    received += len;
    if (keep_data) {
      data.append(bytes, len);
    }
    if (on_data) {
      on_data();
    }
  }
  void onSocketReadEnd(int status) override {
    noteCall();
    ++read_ends;
    read_end = status;
    if (on_read_end) {
      on_read_end();
    }
  }
  void onSocketWritable() override {
    noteCall();
    ++writable;
    queued_when_writable = socket->queuedBytes();
    if (on_writable) {
      on_writable();
    }
  }
  void onSocketWriteProgress() override {
    noteCall();
    ++progress;
  }
  void onSocketWriteError(int status) override {
    noteCall();
    ++write_errors;
    write_error = status;
  }
  void onSocketShutdown(int status) override {
    noteCall();
    shutdown = status;
  }
  void onSocketClosed() override {
    noteCall();
    ++closed;
    socket = nullptr;  // it frees itself once this returns
    tls = nullptr;
  }

  // The incoming stream must be `bytes` repeated.
  void expectPattern(const std::string& bytes) { pattern = bytes; }

  net::Socket* socket = nullptr;
  TlsSocket* tls = nullptr;  // the same socket when it is a TLS one
  SSL* ssl = nullptr;        // its SSL (the socket owns it; valid until closed)
  int connected = 1;         // not yet
  int connects = 0;
  int read_end = 0;
  int read_ends = 0;
  int shutdown = 1;  // not yet
  int write_error = 0;
  int write_errors = 0;
  int writable = 0;
  int progress = 0;
  int closed = 0;
  int calls_after_close = 0;
  int data_before_connected = 0;
  size_t received = 0;
  size_t queued_when_writable = 0;
  size_t pattern_mismatches = 0;
  bool keep_data = true;
  std::string data;
  std::function<void()> on_connected;
  std::function<void()> on_data;
  std::function<void()> on_read_end;
  std::function<void()> on_writable;

 private:
  void noteCall() {
    if (closed > 0) {
      ++calls_after_close;
    }
  }
  void checkPattern(const char* bytes, size_t len) {
    if (pattern.empty()) {
      return;
    }
    for (size_t i = 0; i < len; ++i) {
      if (bytes[i] != pattern[(received + i) % pattern.size()]) {
        ++pattern_mismatches;
      }
    }
  }

  std::string pattern;
};

// Bytes that differ from their neighbours, so a reordered or dropped piece shows.
inline std::shared_ptr<const std::string> patternBuffer(size_t size, unsigned seed) {
  std::string bytes(size, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : bytes) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return std::make_shared<const std::string>(std::move(bytes));
}

class TlsPairTest : public ::testing::Test {
 protected:
  static constexpr net::WaterMarks kMarks{512 * 1024, 128 * 1024};

  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    ASSERT_EQ(uv_timer_init(&loop_, &watchdog_), 0);
    default_cert_ = pki_.issue("default", {"default.test"});
    wildcard_cert_ = pki_.issue("wildcard", {"*.example.test"}, {}, nullptr, 14);
    listen();
  }

  void TearDown() override {
    for (std::deque<TlsRecorder>* sides : {&clients_, &servers_}) {
      for (TlsRecorder& side : *sides) {
        if (side.socket != nullptr) {
          side.socket->close();
        }
      }
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&watchdog_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle outlived its owner";
    for (std::deque<TlsRecorder>* sides : {&clients_, &servers_}) {
      for (TlsRecorder& side : *sides) {
        EXPECT_EQ(side.calls_after_close, 0);
        EXPECT_EQ(side.closed, 1) << "one close notice per socket";
        EXPECT_EQ(side.data_before_connected, 0) << "no plaintext before the handshake";
      }
    }
  }

  // Listener settings: the default certificate (default.test) first, the wildcard one
  // (*.example.test) second, ALPN http/1.1, tickets on.
  config::TlsListenerConfig serverConfig() const {
    config::TlsListenerConfig tls;
    tls.certificates = {default_cert_, wildcard_cert_};
    tls.place = {4, 5, "listen[0].tls"};
    return tls;
  }

  // Upstream settings that trust the test CA and verify `server_name`.
  config::UpstreamConfig upstreamConfig(const std::string& server_name) const {
    config::UpstreamConfig up;
    up.name = "origin";
    up.servers.push_back({"127.0.0.1", port_});
    up.tls.emplace();
    up.tls->ca = config::FileSetting{pki_.caFile(), {21, 11, "upstreams.origin.tls.ca"}};
    up.tls->server_name = server_name;
    return up;
  }

  // Builds the server context every later accepted connection uses.
  void useServer(const config::TlsListenerConfig& tls) {
    ConfigReport report;
    server_context_ = ServerContext::build(tls, "edge.yaml", report);
    ASSERT_NE(server_context_, nullptr);
    ASSERT_TRUE(report.errors.empty());
  }

  std::shared_ptr<const ClientContext> clientContext(const config::UpstreamConfig& up) {
    ConfigReport report;
    auto context = ClientContext::build(up, "edge.yaml", report);
    EXPECT_NE(context, nullptr);
    EXPECT_TRUE(report.errors.empty());
    return context;
  }

  // A client TlsSocket on `ssl` that connects to the listener.
  TlsRecorder& connectTls(SSL* ssl, ClientSessionSlot* slot = nullptr) {
    TlsRecorder& side = clients_.emplace_back();
    TlsSocket* socket = TlsSocket::create(&loop_, side, std::span<char>(read_buffer_), kMarks,
                                          TlsSocketOptions{ssl, false, slot});
    side.socket = socket;
    side.tls = socket;
    side.ssl = ssl;
    EXPECT_EQ(socket->connect(address()), 0);
    return side;
  }

  // A client on client_context_ (ALPN http/1.1 offered). Unless a test set one, the context is
  // built on first use: it trusts the test CA and verifies `server_name`.
  TlsRecorder& connectTo(const std::string& server_name, ClientSessionSlot* slot = nullptr) {
    if (!client_context_) {
      client_context_ = clientContext(upstreamConfig(server_name));
    }
    SSL* ssl = client_context_->newConnection({"127.0.0.1", port_});
    static constexpr unsigned char kAlpn[] = "\x08http/1.1";
    SSL_set_alpn_protos(ssl, kAlpn, sizeof kAlpn - 1);
    return connectTls(ssl, slot);
  }

  // A plain TCP client, for peers that do not speak TLS.
  TlsRecorder& connectPlain() {
    TlsRecorder& side = clients_.emplace_back();
    side.socket = net::TcpSocket::create(&loop_, side, std::span<char>(read_buffer_), kMarks);
    EXPECT_EQ(side.socket->connect(address()), 0);
    return side;
  }

  // Runs until both ends of the newest connection know how its handshake went.
  bool handshake(TlsRecorder& client) {
    return runUntil(
        [&] {
          return client.connected != 1 && !servers_.empty() &&
                 (servers_.back().connected != 1 || servers_.back().read_ends > 0 ||
                  servers_.back().closed > 0);
        },
        "both ends through the handshake");
  }

  // Runs the loop until `done` holds. A watchdog wakes a loop that would wait forever.
  bool runUntil(const std::function<bool()>& done, const char* what) {
    bool expired = false;
    watchdog_.data = &expired;
    uv_timer_start(&watchdog_, [](uv_timer_t* t) { *static_cast<bool*>(t->data) = true; },
                   60'000, 0);
    for (int turn = 0; turn < 1'000'000 && !done() && !expired; ++turn) {
      uv_run(&loop_, UV_RUN_ONCE);
    }
    uv_timer_stop(&watchdog_);
    if (!done()) {
      ADD_FAILURE() << "the loop never got to: " << what;
      return false;
    }
    return true;
  }

  TlsRecorder& server() { return servers_.back(); }

  uv_loop_t loop_{};
  TestPki pki_;
  config::CertificateFiles default_cert_;
  config::CertificateFiles wildcard_cert_;
  std::shared_ptr<const ServerContext> server_context_;
  std::shared_ptr<const ClientContext> client_context_;
  std::deque<TlsRecorder> clients_;
  std::deque<TlsRecorder> servers_;  // one per accepted connection
  // Called with each accepted connection's SSL before its socket takes it.
  std::function<void(SSL*)> on_server_ssl;
  uint16_t port_ = 0;

 private:
  void listen() {
    ASSERT_EQ(uv_tcp_init(&loop_, &listener_), 0);
    listener_.data = this;
    sockaddr_in addr{};
    ASSERT_EQ(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
    ASSERT_EQ(uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
    ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 8,
                        [](uv_stream_t* listener, int status) {
                          ASSERT_EQ(status, 0);
                          static_cast<TlsPairTest*>(listener->data)->acceptOne(listener);
                        }),
              0);
    int len = sizeof addr;
    ASSERT_EQ(uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    address_ = addr;
    port_ = ntohs(addr.sin_port);
  }

  void acceptOne(uv_stream_t* listener) {
    ASSERT_NE(server_context_, nullptr) << "useServer() first";
    TlsRecorder& side = servers_.emplace_back();
    SSL* ssl = server_context_->newConnection();
    if (on_server_ssl) {
      on_server_ssl(ssl);
    }
    TlsSocket* socket = TlsSocket::create(&loop_, side, std::span<char>(read_buffer_), kMarks,
                                          TlsSocketOptions{ssl, true, nullptr});
    side.socket = socket;
    side.tls = socket;
    side.ssl = ssl;
    ASSERT_EQ(socket->accept(listener), 0);
  }

  const sockaddr* address() const { return reinterpret_cast<const sockaddr*>(&address_); }

  uv_tcp_t listener_{};
  uv_timer_t watchdog_{};
  sockaddr_in address_{};
  std::array<char, 64 * 1024> read_buffer_{};  // every socket shares it, as a worker's do
};

}  // namespace edge::tls::testing
