// Test support: a real uv loop with two TcpSockets connected over loopback, each reporting to
// a Recorder. Tests drive the loop until an event has happened; nothing sleeps or reads the
// clock (a watchdog timer only turns a hang into a failure).
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <array>
#include <csignal>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "proxy/net/tcp_socket.h"

namespace edge::net::testing {

// Everything a socket told its handler, and hooks to act from inside the callbacks.
class Recorder : public SocketHandler {
 public:
  void onSocketConnected(int status) override {
    noteCall();
    connected = status;
  }
  void onSocketData(const char* bytes, size_t len) override {
    noteCall();
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
  }

  // The incoming stream must be `bytes` repeated.
  void expectPattern(const std::string& bytes) { pattern = bytes; }

  TcpSocket* socket = nullptr;
  int connected = 1;  // not yet
  int read_end = 0;
  int shutdown = 1;   // not yet
  int write_error = 0;
  int write_errors = 0;
  int writable = 0;
  int progress = 0;
  int closed = 0;
  int calls_after_close = 0;
  size_t received = 0;
  size_t queued_when_writable = 0;
  size_t pattern_mismatches = 0;
  bool keep_data = true;
  std::string data;
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

  std::string pattern;  // a copy: the tests count the references to their shared buffers
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

class SocketPairTest : public ::testing::Test {
 protected:
  static constexpr WaterMarks kMarks{512 * 1024, 128 * 1024};

  void SetUp() override {
    std::signal(SIGPIPE, SIG_IGN);  // as the server does: a write to a reset peer fails instead
    ASSERT_EQ(uv_loop_init(&loop_), 0);
    ASSERT_EQ(uv_timer_init(&loop_, &watchdog_), 0);
    watchdog_.data = this;
    connectPair();
  }

  void TearDown() override {
    for (Recorder* side : {&client_, &server_}) {
      if (side->socket != nullptr) {
        side->socket->close();
      }
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&watchdog_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a handle outlived its owner";
    EXPECT_EQ(client_.calls_after_close, 0);
    EXPECT_EQ(server_.calls_after_close, 0);
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

  TcpSocket* newSocket(Recorder& handler) {
    handler.socket = TcpSocket::create(&loop_, handler, std::span<char>(read_buffer_), kMarks);
    return handler.socket;
  }

  TcpSocket& client() { return *client_.socket; }
  TcpSocket& server() { return *server_.socket; }

  uv_loop_t loop_{};
  Recorder client_;
  Recorder server_;

 private:
  void connectPair() {
    ASSERT_EQ(uv_tcp_init(&loop_, &listener_), 0);
    listener_.data = this;
    sockaddr_in addr{};
    ASSERT_EQ(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
    ASSERT_EQ(uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0), 0);
    ASSERT_EQ(uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 8,
                        [](uv_stream_t* listener, int status) {
                          ASSERT_EQ(status, 0);
                          auto* self = static_cast<SocketPairTest*>(listener->data);
                          ASSERT_EQ(self->newSocket(self->server_)->accept(listener), 0);
                        }),
              0);
    int len = sizeof addr;
    ASSERT_EQ(uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    ASSERT_EQ(newSocket(client_)->connect(reinterpret_cast<const sockaddr*>(&addr)), 0);
    runUntil([this] { return client_.connected == 0 && server_.socket != nullptr; },
             "a connected pair");
  }

  uv_tcp_t listener_{};
  uv_timer_t watchdog_{};
  std::array<char, 64 * 1024> read_buffer_{};  // both sides share it, as a worker's sockets do
};

}  // namespace edge::net::testing
