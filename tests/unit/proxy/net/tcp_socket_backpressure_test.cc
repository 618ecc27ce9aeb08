#include <gtest/gtest.h>

#include <string>

#include "tests/unit/proxy/net/socket_pair.h"

namespace edge::net::testing {
namespace {

class TcpSocketBackpressureTest : public SocketPairTest {
 protected:
  // Writes the pattern (as shared slices, no copies) while the peer does not read, until the
  // queue is over the high mark. Returns the bytes written.
  size_t writeUntilCongested() {
    server_.keep_data = false;
    server_.expectPattern(*body_);
    size_t written = 0;
    for (int i = 0; i < 1024; ++i) {
      client().writeShared(body_, 0, body_->size());
      client().flush();
      written += body_->size();
      if (client().congested()) {
        return written;
      }
    }
    ADD_FAILURE() << "the queue never passed the high mark";
    return written;
  }

  std::shared_ptr<const std::string> body_ = patternBuffer(1024 * 1024, 11);
};

TEST_F(TcpSocketBackpressureTest, QueuedBytesCountWhatIsUnflushedAndWhatTheKernelRefused) {
  client().write(std::string(kMarks.high + 1, 'x'));
  EXPECT_EQ(client().queuedBytes(), kMarks.high + 1);
  EXPECT_TRUE(client().congested()) << "unflushed bytes count";
  size_t written = kMarks.high + 1 + writeUntilCongested();
  EXPECT_GT(client().queuedBytes(), kMarks.high);
  EXPECT_LT(client().queuedBytes(), written) << "the kernel took some bytes";
}

TEST_F(TcpSocketBackpressureTest, APeerThatReadsAgainBringsOneWritableNoticeBelowTheLowMark) {
  size_t written = writeUntilCongested();
  EXPECT_TRUE(client().congested());
  EXPECT_EQ(client_.writable, 0) << "asking again does not notify";
  server().startReading();
  runUntil([this] { return client_.writable > 0; }, "the writable notice");
  EXPECT_EQ(client_.writable, 1);
  EXPECT_LT(client_.queued_when_writable, kMarks.low);
  runUntil([&] { return server_.received == written; }, "every byte at the peer");
  // The last write callback releases the last slice.
  runUntil([this] { return body_.use_count() == 1; }, "every written slice released");
  EXPECT_EQ(client().queuedBytes(), 0u);
  EXPECT_EQ(client_.writable, 1) << "one notice per wait";
  EXPECT_EQ(server_.pattern_mismatches, 0u);
}

TEST_F(TcpSocketBackpressureTest, AWriterThatStopsWaitingIsNotNotified) {
  size_t written = writeUntilCongested();
  client().cancelWritable();
  server().startReading();
  runUntil([&] { return server_.received == written; }, "every byte at the peer");
  runUntil([this] { return client().queuedBytes() == 0; }, "an empty queue");
  EXPECT_EQ(client_.writable, 0);
  EXPECT_GT(client_.progress, 0);
}

TEST_F(TcpSocketBackpressureTest, TheWritableNoticeMayWriteMoreAndWaitAgain) {
  size_t written = writeUntilCongested();
  client_.on_writable = [&] {
    if (client_.writable == 1) {
      written += writeUntilCongested();
    }
  };
  server().startReading();
  runUntil([this] { return client_.writable == 2; }, "the second writable notice");
  runUntil([&] { return server_.received == written; }, "every byte at the peer");
  EXPECT_EQ(server_.pattern_mismatches, 0u);
}

}  // namespace
}  // namespace edge::net::testing
