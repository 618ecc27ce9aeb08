#include "lib/http/response_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace edge::http {
namespace {

struct Recorder : ResponseSink {
  std::vector<ResponseHead> heads;
  std::string body;
  int ends = 0;
  void onResponseHead(ResponseHead&& h) override { heads.push_back(std::move(h)); }
  void onResponseBody(const char* d, size_t n) override { body.append(d, n); }
  void onResponseEnd() override { ++ends; }
};

class ResponseParserTest : public ::testing::Test {
 protected:
  ResponseParser::Result feed(std::string_view bytes) {
    return parser.execute(bytes.data(), bytes.size());
  }
  Recorder sink;
  ResponseParser parser{sink};
};

TEST_F(ResponseParserTest, SkipsInterimResponses) {
  parser.expectResponse(false);
  auto r = feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(r.outcome, ResponseParser::Outcome::MessageDone);
  ASSERT_EQ(sink.heads.size(), 1u);
  EXPECT_EQ(sink.heads[0].status, 200);
  EXPECT_EQ(sink.body, "ok");
}

TEST_F(ResponseParserTest, InterimResponsesHaveNoBodyWhateverTheirFraming) {
  parser.expectResponse(false);
  auto r = feed(
      "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nTransfer-Encoding: chunked\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(r.outcome, ResponseParser::Outcome::MessageDone);
  ASSERT_EQ(sink.heads.size(), 1u);
  EXPECT_EQ(sink.heads[0].status, 200);
  EXPECT_EQ(sink.body, "ok");
  EXPECT_EQ(sink.ends, 1);
}

TEST_F(ResponseParserTest, StatusBelowOneHundredIsAnError) {
  parser.expectResponse(false);
  auto r = feed("HTTP/1.1 050 OK\r\nContent-Length: 1\r\n\r\na");
  EXPECT_EQ(r.outcome, ResponseParser::Outcome::Error);
  EXPECT_TRUE(sink.heads.empty());
  EXPECT_NE(parser.error().find("status code 50"), std::string::npos);
}

TEST_F(ResponseParserTest, HeadResponsesHaveNoBodyWhateverTheirLength) {
  parser.expectResponse(true);
  auto r = feed("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
  EXPECT_EQ(r.outcome, ResponseParser::Outcome::MessageDone);
  EXPECT_EQ(sink.ends, 1);
  EXPECT_TRUE(sink.heads[0].has_content_length);
  EXPECT_EQ(sink.heads[0].content_length, 100u);
}

TEST_F(ResponseParserTest, NotModifiedHasNoBody) {
  parser.expectResponse(false);
  auto r = feed("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
  EXPECT_EQ(r.outcome, ResponseParser::Outcome::MessageDone);
  EXPECT_TRUE(sink.body.empty());
}

TEST_F(ResponseParserTest, ReadUntilCloseBodyCompletesOnFinish) {
  parser.expectResponse(false);
  auto r = feed("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello");
  EXPECT_EQ(r.outcome, ResponseParser::Outcome::NeedMore);
  EXPECT_TRUE(sink.heads[0].until_close);
  EXPECT_FALSE(sink.heads[0].keep_alive);
  EXPECT_EQ(parser.finish(), ResponseParser::Outcome::MessageDone);
  EXPECT_EQ(sink.body, "hello");
  EXPECT_EQ(sink.ends, 1);
}

TEST_F(ResponseParserTest, TruncatedLengthBodyIsAnErrorOnClose) {
  parser.expectResponse(false);
  feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf");
  EXPECT_EQ(parser.finish(), ResponseParser::Outcome::Error);
  EXPECT_EQ(sink.ends, 0);
  EXPECT_FALSE(parser.error().empty());
}

TEST_F(ResponseParserTest, CloseBeforeAnyByteIsReportedAsSuch) {
  parser.expectResponse(false);
  EXPECT_EQ(parser.finish(), ResponseParser::Outcome::Error);
  EXPECT_FALSE(parser.started());
}

TEST_F(ResponseParserTest, ParsesConsecutiveResponsesOnOneConnection) {
  parser.expectResponse(false);
  EXPECT_EQ(feed("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na").outcome,
            ResponseParser::Outcome::MessageDone);
  parser.expectResponse(false);
  EXPECT_EQ(feed("HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n")
                .outcome,
            ResponseParser::Outcome::MessageDone);
  ASSERT_EQ(sink.heads.size(), 2u);
  EXPECT_EQ(sink.heads[1].status, 201);
  EXPECT_TRUE(sink.heads[1].chunked);
  EXPECT_EQ(sink.body, "ab");
}

TEST_F(ResponseParserTest, A101ToAnOfferedUpgradeEndsHttpRightAfterItsHead) {
  parser.expectResponse(false, true);
  const std::string head =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
  auto r = feed(head + "\x81\x05hello");
  EXPECT_EQ(r.outcome, ResponseParser::Outcome::Switched);
  EXPECT_EQ(r.consumed, head.size()) << "the frame after the head is the new protocol's";
  ASSERT_EQ(sink.heads.size(), 1u);
  EXPECT_EQ(sink.heads[0].status, 101);
  EXPECT_EQ(*sink.heads[0].headers.find("upgrade"), "websocket");
  EXPECT_EQ(sink.body, "");
  EXPECT_EQ(sink.ends, 0) << "a switch is not the end of a response";
}

TEST_F(ResponseParserTest, A101InPiecesSwitchesOnTheLastByteOfTheHead) {
  parser.expectResponse(false, true);
  EXPECT_EQ(feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n").outcome,
            ResponseParser::Outcome::NeedMore);
  auto r = feed("Connection: upgrade\r\n\r\n");
  EXPECT_EQ(r.outcome, ResponseParser::Outcome::Switched);
  EXPECT_EQ(r.consumed, 23u);
}

TEST_F(ResponseParserTest, A101WithoutAnOfferIsAnError) {
  parser.expectResponse(false, false);
  auto r = feed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\n\r\n");
  EXPECT_EQ(r.outcome, ResponseParser::Outcome::Error);
  EXPECT_NE(parser.error().find("switched protocols without being asked"), std::string::npos);
}

TEST_F(ResponseParserTest, AnOfferedUpgradeAnsweredNormallyIsAResponseLikeAnyOther) {
  parser.expectResponse(false, true);
  auto r = feed("HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\nno");
  EXPECT_EQ(r.outcome, ResponseParser::Outcome::MessageDone);
  EXPECT_EQ(sink.body, "no");
  EXPECT_EQ(sink.ends, 1);
}

}  // namespace
}  // namespace edge::http
