#include <gtest/gtest.h>

#include <string>

#include "tests/unit/proxy/net/socket_pair.h"

namespace edge::net::testing {
namespace {

using TcpSocketCloseTest = SocketPairTest;

TEST_F(TcpSocketCloseTest, CloseFromInsideTheDataCallbackEndsAllOtherCallbacks) {
  server_.on_data = [this] { server().close(); };
  server().startReading();
  client().startReading();
  client().write("first");
  client().flush();
  runUntil([this] { return server_.closed == 1; }, "the server's close notice");
  EXPECT_EQ(server_.data, "first");
  // The client sees the end and may keep writing; the closed side hears nothing of it.
  runUntil([this] { return client_.read_end != 0; }, "the end of input at the client");
  client().write("second");
  client().flush();
  client().close();
  runUntil([this] { return client_.closed == 1; }, "the client's close notice");
  EXPECT_EQ(server_.closed, 1);
  EXPECT_EQ(server_.calls_after_close, 0);
}

TEST_F(TcpSocketCloseTest, CloseFromInsideTheEndOfInputCallback) {
  server_.on_read_end = [this] { server().close(); };
  server().startReading();
  ASSERT_EQ(client().shutdown(), 0);
  runUntil([this] { return server_.closed == 1; }, "the server's close notice");
  EXPECT_EQ(server_.read_end, UV_EOF);
}

TEST_F(TcpSocketCloseTest, CloseWithQueuedWritesDropsThemAndNotifiesOnlyOnce) {
  auto body = patternBuffer(1024 * 1024, 5);
  for (int i = 0; i < 1024 && !client().congested(); ++i) {
    client().writeShared(body, 0, body->size());
    client().flush();
  }
  ASSERT_GT(client().queuedBytes(), kMarks.high);
  ASSERT_EQ(client().shutdown(), 0);
  client().close();
  client().close();  // idempotent
  EXPECT_TRUE(client().closed());
  runUntil([this] { return client_.closed > 0; }, "the close notice");
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_EQ(client_.closed, 1);
  EXPECT_EQ(client_.write_errors, 0) << "cancelled writes are not errors";
  EXPECT_EQ(client_.shutdown, 1) << "the cancelled shutdown is not reported";
  EXPECT_EQ(client_.progress + client_.writable, 0);
  EXPECT_EQ(body.use_count(), 1) << "the cancelled writes released their slices";
}

TEST_F(TcpSocketCloseTest, CloseFromInsideTheWritableNotice) {
  auto body = patternBuffer(1024 * 1024, 9);
  server_.keep_data = false;
  for (int i = 0; i < 1024 && !client().congested(); ++i) {
    client().writeShared(body, 0, body->size());
    client().flush();
  }
  ASSERT_TRUE(client().congested());
  int progress_at_close = -1;
  client_.on_writable = [&] {
    progress_at_close = client_.progress;
    client().close();
  };
  server().startReading();
  runUntil([this] { return client_.closed == 1; }, "the client's close notice");
  EXPECT_EQ(client_.writable, 1);
  EXPECT_EQ(client_.progress, progress_at_close) << "no progress report after the close";
}

TEST_F(TcpSocketCloseTest, AConnectThatClosesFirstIsNeverReported) {
  Recorder third;
  newSocket(third);
  sockaddr_in addr{};
  ASSERT_EQ(uv_ip4_addr("127.0.0.1", 9, &addr), 0);  // discard port: refused, or slow
  ASSERT_EQ(third.socket->connect(reinterpret_cast<const sockaddr*>(&addr)), 0);
  third.socket->close();
  runUntil([&] { return third.closed == 1; }, "the close notice");
  EXPECT_EQ(third.connected, 1) << "no connect result after close";
  EXPECT_EQ(third.calls_after_close, 0);
}

}  // namespace
}  // namespace edge::net::testing
