#include "lib/http/serializer.h"

#include <gtest/gtest.h>

namespace edge::http {
namespace {

TEST(Serializer, RequestHeadWritesItsOwnFramingAndDropsIncomingFraming) {
  Headers h;
  h.add("Host", "a");
  h.add("Content-Length", "999");
  h.add("Transfer-Encoding", "gzip");
  std::string head = serializeRequestHead("POST", "/x?y=1", h, {BodyFraming::Chunked, 0});
  EXPECT_EQ(head, "POST /x?y=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(Serializer, ResponseHeadWithLengthAndClose) {
  Headers h;
  h.add("Content-Type", "application/json");
  DownstreamResponseFraming f;
  f.framing = {BodyFraming::ContentLength, 12};
  std::string head = serializeResponseHead(200, "OK", headerLines(h), f, {true, true});
  EXPECT_EQ(head,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n"
            "Connection: close\r\n\r\n");
}

TEST(Serializer, Http10ClientsGetAnExplicitKeepAlive) {
  DownstreamResponseFraming f;
  f.framing = {BodyFraming::ContentLength, 0};
  std::string head = serializeResponseHead(204, "", headerLines(Headers{}), f, {false, false});
  EXPECT_NE(head.find("HTTP/1.1 204 No Content\r\n"), std::string::npos);
  EXPECT_NE(head.find("Connection: keep-alive\r\n"), std::string::npos);
}

TEST(Serializer, ChunksAreHexSizedAndEmptyDataIsSkipped) {
  std::string out;
  appendChunk(out, std::string(26, 'a'));
  EXPECT_EQ(out, "1a\r\n" + std::string(26, 'a') + "\r\n");
  appendChunk(out, "");
  EXPECT_EQ(out.size(), 4u + 26u + 2u);
}

TEST(Serializer, LocalResponseSaysWhyAndHasAnExactLength) {
  std::string r = localResponse(502, "upstream down\n", {true, true}, false);
  EXPECT_EQ(r.rfind("HTTP/1.1 502 Bad Gateway\r\n", 0), 0u);
  EXPECT_NE(r.find("Content-Length: 14\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\n\r\nupstream down\n"), std::string::npos);
  std::string head_only = localResponse(502, "upstream down\n", {true, true}, true);
  EXPECT_EQ(head_only.find("upstream down"), std::string::npos);
}

}  // namespace
}  // namespace edge::http
