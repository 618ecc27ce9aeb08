#include "lib/http/request_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace edge::http {
namespace {

struct Recorder : RequestSink {
  std::vector<RequestHead> heads;
  std::string body;
  int ends = 0;
  void onRequestHead(RequestHead&& h) override { heads.push_back(std::move(h)); }
  void onRequestBody(const char* d, size_t n) override { body.append(d, n); }
  void onRequestEnd() override { ++ends; }
};

class RequestParserTest : public ::testing::Test {
 protected:
  RequestParser::Result feed(std::string_view bytes) {
    return parser.execute(bytes.data(), bytes.size());
  }
  config::Limits limits{1024, 100};
  Recorder sink;
  RequestParser parser{sink, limits};
};

TEST_F(RequestParserTest, ParsesAHeadSplitAcrossReads) {
  EXPECT_EQ(feed("GET /a?b=1 HT").outcome, RequestParser::Outcome::NeedMore);
  EXPECT_EQ(feed("TP/1.1\r\nHo").outcome, RequestParser::Outcome::NeedMore);
  auto r = feed("st: x\r\nX-Long: va");
  EXPECT_EQ(r.outcome, RequestParser::Outcome::NeedMore);
  r = feed("lue\r\n\r\n");
  EXPECT_EQ(r.outcome, RequestParser::Outcome::MessageDone);
  ASSERT_EQ(sink.heads.size(), 1u);
  EXPECT_EQ(sink.heads[0].method, "GET");
  EXPECT_EQ(sink.heads[0].target, "/a?b=1");
  EXPECT_EQ(*sink.heads[0].headers.find("x-long"), "value");
}

TEST_F(RequestParserTest, AValueSplitAcrossReadsIsNotMistakenForObsFold) {
  EXPECT_EQ(feed("GET / HTTP/1.1\r\nHost: x\r\nX-A: one").outcome,
            RequestParser::Outcome::NeedMore);
  EXPECT_EQ(feed(" two\r\n\r\n").outcome, RequestParser::Outcome::MessageDone);
  EXPECT_EQ(*sink.heads[0].headers.find("x-a"), "one two");
}

TEST_F(RequestParserTest, ObsFoldIsRejectedWhenTheFoldArrivesInTheNextRead) {
  EXPECT_EQ(feed("GET / HTTP/1.1\r\nHost: x\r\nX-A: one\r\n").outcome,
            RequestParser::Outcome::NeedMore);
  EXPECT_EQ(feed(" two\r\n\r\n").outcome, RequestParser::Outcome::Error);
  EXPECT_EQ(parser.error().status, 400);
}

TEST_F(RequestParserTest, PausesAfterEachPipelinedRequest) {
  std::string two = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n";
  auto r = feed(two);
  EXPECT_EQ(r.outcome, RequestParser::Outcome::MessageDone);
  EXPECT_EQ(sink.heads.size(), 1u);
  parser.resume();
  auto r2 = parser.execute(two.data() + r.consumed, two.size() - r.consumed);
  EXPECT_EQ(r2.outcome, RequestParser::Outcome::MessageDone);
  ASSERT_EQ(sink.heads.size(), 2u);
  EXPECT_EQ(sink.heads[1].target, "/2");
}

TEST_F(RequestParserTest, DecodesChunkedBodies) {
  auto r = feed("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
  EXPECT_EQ(r.outcome, RequestParser::Outcome::MessageDone);
  EXPECT_TRUE(sink.heads[0].chunked);
  EXPECT_EQ(sink.body, "abcde");
}

struct BadInput {
  const char* name;
  std::string bytes;
  int status;
  bool found_in_body = false;  // the head was fine and may have gone on
};

class RequestParserRejects : public ::testing::TestWithParam<BadInput> {};

TEST_P(RequestParserRejects, WithTheRightStatus) {
  config::Limits limits{1024, 100};
  Recorder sink;
  RequestParser parser(sink, limits);
  auto r = parser.execute(GetParam().bytes.data(), GetParam().bytes.size());
  EXPECT_EQ(r.outcome, RequestParser::Outcome::Error);
  EXPECT_EQ(parser.error().status, GetParam().status);
  EXPECT_FALSE(parser.error().reason.empty());
}

// A refused head never reaches the sink, so nothing of it can be sent upstream: whole, and fed
// one byte at a time (the framing check then runs in a later read than the head's end).
TEST_P(RequestParserRejects, BeforeTheHeadIsHandedOn) {
  config::Limits limits{1024, 100};
  const std::string& bytes = GetParam().bytes;
  Recorder whole;
  RequestParser parser(whole, limits);
  parser.execute(bytes.data(), bytes.size());
  const bool found_in_body = GetParam().found_in_body;
  if (!found_in_body) {
    EXPECT_TRUE(whole.heads.empty());
  }
  Recorder bytewise;
  RequestParser slow(bytewise, limits);
  RequestParser::Outcome outcome = RequestParser::Outcome::NeedMore;
  for (size_t i = 0; i < bytes.size() && outcome == RequestParser::Outcome::NeedMore; ++i) {
    outcome = slow.execute(bytes.data() + i, 1).outcome;
  }
  EXPECT_EQ(outcome, RequestParser::Outcome::Error);
  EXPECT_EQ(slow.error().status, GetParam().status);
  if (!found_in_body) {
    EXPECT_TRUE(bytewise.heads.empty());
  }
}

TEST_F(RequestParserTest, AcceptsChunkedWithListWhiteSpaceAndEmptyElements) {
  for (std::string te : {"chunked", "CHUNKED", "\tchunked", "chunked ", ", chunked"}) {
    Recorder recorder;
    RequestParser p(recorder, limits);
    std::string bytes = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te +
                        "\r\n\r\n1\r\na\r\n0\r\n\r\n";
    EXPECT_EQ(p.execute(bytes.data(), bytes.size()).outcome, RequestParser::Outcome::MessageDone)
        << te;
    EXPECT_EQ(recorder.body, "a") << te;
  }
}

TEST_F(RequestParserTest, EmptyLinesBeforeTheRequestLineAreAllowed) {
  EXPECT_EQ(feed("\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n").outcome,
            RequestParser::Outcome::MessageDone);
  ASSERT_EQ(sink.heads.size(), 1u);
}

TEST_F(RequestParserTest, ABodyMayHoldBareLineFeeds) {
  auto r = feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\na\n\nb");
  EXPECT_EQ(r.outcome, RequestParser::Outcome::MessageDone);
  EXPECT_EQ(sink.body, "a\n\nb");
  parser.resume();
  // The next pipelined head is checked again.
  EXPECT_EQ(feed("GET / HTTP/1.1\r\nHost: x\n\r\n").outcome, RequestParser::Outcome::Error);
}

INSTANTIATE_TEST_SUITE_P(
    BadRequests, RequestParserRejects,
    ::testing::Values(
        BadInput{"ContentLengthWithChunked",
                 "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        BadInput{"TwoContentLengths",
                 "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
                 400},
        BadInput{"InvalidChunkSize",
                 "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400,
                 true},
        BadInput{"BareLineFeeds", "GET / HTTP/1.1\nHost: x\n\n", 400},
        BadInput{"ObsFold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n", 400},
        BadInput{"MissingHost", "GET / HTTP/1.1\r\n\r\n", 400},
        BadInput{"TwoHosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        BadInput{"HeaderBlockTooLarge",
                 "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n", 431},
        BadInput{"DeclaredBodyTooLarge",
                 "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413},
        BadInput{"ChunkedBodyTooLarge",
                 "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n" +
                     std::string(101, 'a') + "\r\n", 413, true},
        BadInput{"Connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 501},
        BadInput{"TransferEncodingGzip",
                 "DELETE /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
        BadInput{"TransferEncodingChunk",
                 "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunk\r\n\r\n", 400},
        BadInput{"TransferEncodingIdentity",
                 "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 400},
        BadInput{"TransferEncodingWithParameter",
                 "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", 400},
        BadInput{"TransferEncodingChunkedThenGzip",
                 "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                 400},
        BadInput{"TransferEncodingGzipThenChunked",
                 "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
                 "0\r\n\r\n", 501},
        BadInput{"TransferEncodingTwiceChunked",
                 "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        BadInput{"TransferEncodingInHttp10",
                 "POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        BadInput{"TransferEncodingFoldedWithATab",
                 "POST /x HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\tTransfer-Encoding: chunked\r\n\r\n"
                 "0\r\n\r\n", 400},
        BadInput{"EmptyHeaderName", "GET / HTTP/1.1\r\nHost: h\r\n: empty\r\n\r\n", 400},
        BadInput{"BareLineFeedEndingTheHead", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\n", 400},
        BadInput{"BareLineFeedAfterTheRequestLine", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400},
        BadInput{"UnknownExpectation",
                 "POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 1\r\n\r\na", 417}),
    [](const ::testing::TestParamInfo<BadInput>& param) { return param.param.name; });

}  // namespace
}  // namespace edge::http
