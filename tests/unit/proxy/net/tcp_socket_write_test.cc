#include <gtest/gtest.h>

#include <string>

#include "tests/unit/proxy/net/socket_pair.h"

namespace edge::net::testing {
namespace {

using TcpSocketWriteTest = SocketPairTest;

TEST_F(TcpSocketWriteTest, ASmallWriteIsDoneByTheTryWriteAloneWithoutAQueuedWrite) {
  server().startReading();
  auto shared = std::make_shared<const std::string>("--shared body--");
  client().write("HTTP/1.1 200 OK\r\n\r\n");
  client().writeShared(shared, 2, 6);
  client().flush();
  EXPECT_EQ(client().queuedBytes(), 0u) << "the kernel took everything before flush returned";
  EXPECT_EQ(shared.use_count(), 1) << "a written slice is released at once";
  runUntil([this] { return server_.received == 25; }, "the bytes at the peer");
  EXPECT_EQ(server_.data, "HTTP/1.1 200 OK\r\n\r\nshared");
  EXPECT_EQ(client_.progress, 0) << "no uv_write was queued";
  EXPECT_FALSE(client().congested());
}

TEST_F(TcpSocketWriteTest, NothingIsSentBeforeFlushAndEmptyWritesAreIgnored) {
  server().startReading();
  client().write("abc");
  client().write(std::string());
  client().writeShared(std::make_shared<const std::string>("xyz"), 1, 0);
  EXPECT_EQ(client().queuedBytes(), 3u);
  client().flush();
  runUntil([this] { return server_.received == 3; }, "the bytes at the peer");
  EXPECT_EQ(server_.data, "abc");
}

TEST_F(TcpSocketWriteTest, SharedSlicesAndOwnedStringsArriveIntactAndInOrder) {
  // Far more bytes and pieces than one try-write takes: the rest goes through queued writes,
  // some slices split where the kernel stopped.
  auto body = patternBuffer(256 * 1024, 7);
  std::string expected;
  for (int i = 0; i < 300; ++i) {
    std::string owned = "<owned " + std::to_string(i) + ">";
    expected += owned;
    client().write(std::move(owned));
    size_t offset = static_cast<size_t>(i) * 9973 % (body->size() / 2);
    size_t length = 1 + static_cast<size_t>(i) * 7919 % (body->size() / 4);
    expected.append(*body, offset, length);
    client().writeShared(body, offset, length);
  }
  client().flush();
  server().startReading();
  runUntil([&] { return server_.received >= expected.size(); }, "every byte at the peer");
  EXPECT_EQ(server_.received, expected.size());
  EXPECT_TRUE(server_.data == expected) << "the stream arrived damaged or out of order";
  // The last write callback releases the last slice.
  runUntil([&] { return body.use_count() == 1; }, "every written slice released");
  EXPECT_EQ(client().queuedBytes(), 0u);
  EXPECT_GT(client_.progress, 0) << "the rest went through queued writes";
}

TEST_F(TcpSocketWriteTest, WritesFromSeveralFlushesKeepTheirOrder) {
  auto body = patternBuffer(1024 * 1024, 3);
  server_.keep_data = false;
  server_.expectPattern(*body);
  for (int round = 0; round < 24; ++round) {
    // The pattern, cut in three: an owned copy, then two shared slices.
    client().write(body->substr(0, 1000));
    client().writeShared(body, 1000, 500'000);
    client().writeShared(body, 501'000, body->size() - 501'000);
    client().flush();
  }
  server().startReading();
  runUntil([&] { return server_.received == 24 * body->size(); }, "every byte at the peer");
  EXPECT_EQ(server_.pattern_mismatches, 0u);
}

TEST_F(TcpSocketWriteTest, ThePeersEndOfInputIsReportedAfterItsLastBytes) {
  server().startReading();
  client().write("last words");
  ASSERT_EQ(client().shutdown(), 0);
  runUntil([this] { return server_.read_end != 0; }, "the end of input");
  EXPECT_EQ(server_.read_end, UV_EOF);
  EXPECT_EQ(server_.data, "last words");
  EXPECT_FALSE(server().reading());
  runUntil([this] { return client_.shutdown != 1; }, "the shutdown result");
  EXPECT_EQ(client_.shutdown, 0);
  EXPECT_EQ(server_.closed, 0) << "the end of input does not close the socket";
}

TEST_F(TcpSocketWriteTest, StopReadingHoldsTheBytesBackUntilReadingStartsAgain) {
  server().startReading();
  client().write("one");
  client().flush();
  runUntil([this] { return server_.received == 3; }, "the first bytes");
  server().stopReading();
  EXPECT_FALSE(server().reading());
  client().write("two");
  client().flush();
  ASSERT_EQ(client().shutdown(), 0);
  runUntil([this] { return client_.shutdown != 1; }, "the shutdown result");
  EXPECT_EQ(server_.data, "one");
  server().startReading();
  runUntil([this] { return server_.read_end != 0; }, "the end of input");
  EXPECT_EQ(server_.data, "onetwo");
}

TEST_F(TcpSocketWriteTest, AWriteErrorIsReportedOnceAndLaterWritesAreDropped) {
  client().startReading();
  server().close();
  runUntil([this] { return server_.closed == 1 && client_.read_end != 0; },
           "the peer gone");
  // The first write after the peer left may still be taken; its reset fails the next ones.
  for (int i = 0; i < 1000 && client_.write_errors == 0; ++i) {
    client().write(std::string(1024, 'x'));
    client().flush();
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  ASSERT_EQ(client_.write_errors, 1);
  EXPECT_LT(client_.write_error, 0);
  client().write("more");
  client().flush();
  EXPECT_EQ(client().queuedBytes(), 0u);
  EXPECT_EQ(client_.write_errors, 1);
  EXPECT_EQ(client_.closed, 0) << "a write error leaves closing to the owner";
}

}  // namespace
}  // namespace edge::net::testing
