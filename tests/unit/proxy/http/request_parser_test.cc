#include "proxy/http/request_parser.h"

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
                 "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
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
                     std::string(101, 'a') + "\r\n", 413},
        BadInput{"Connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", 501},
        BadInput{"UnknownExpectation",
                 "POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 1\r\n\r\na", 417}),
    [](const ::testing::TestParamInfo<BadInput>& param) { return param.param.name; });

}  // namespace
}  // namespace edge::http
