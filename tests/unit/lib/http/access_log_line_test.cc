#include "lib/http/access_log_line.h"

#include <gtest/gtest.h>

namespace edge::http {
namespace {

// 2026-12-04T12:34:56.789Z
constexpr int64_t kTime = 1796387696789;

AccessLogRecord fullRecord() {
  AccessLogRecord r;
  r.time_ms = kTime;
  r.client = "127.0.0.1";
  r.method = "GET";
  r.target = "/api/v1/sites?page=2";
  r.protocol = "HTTP/1.1";
  r.status = 200;
  r.bytes_sent = 512;
  r.duration_ms = 12;
  r.upstream = "127.0.0.1:8080";
  r.upstream_time_ms = 9;
  r.cache = "miss";
  r.route_class = "api_list";
  r.request_id = "abc-123";
  r.user_agent = "curl/8.5.0";
  r.tls_version = "TLSv1.3";
  r.referer = "https://example.test/";
  return r;
}

std::string line(const AccessLogRecord& r, AccessLogFormat format) {
  std::string out;
  appendAccessLogLine(out, r, format);
  return out;
}

std::string json(std::string_view bytes) {
  std::string out;
  appendJsonString(out, bytes);
  return out;
}

TEST(IsoTimeUtc, MillisecondsAndZ) {
  EXPECT_EQ(isoTimeUtc(kTime), "2026-12-04T12:34:56.789Z");
  EXPECT_EQ(isoTimeUtc(0), "1970-01-01T00:00:00.000Z");
}

TEST(AccessLogJson, EveryFieldInOneLine) {
  EXPECT_EQ(line(fullRecord(), AccessLogFormat::Json),
            "{\"time\":\"2026-12-04T12:34:56.789Z\",\"client\":\"127.0.0.1\","
            "\"method\":\"GET\",\"target\":\"/api/v1/sites?page=2\",\"protocol\":\"HTTP/1.1\","
            "\"status\":200,\"bytes_sent\":512,\"user_agent\":\"curl/8.5.0\","
            "\"referer\":\"https://example.test/\",\"type\":\"request\","
            "\"request_id\":\"abc-123\",\"duration_ms\":12,\"upstream\":\"127.0.0.1:8080\","
            "\"upstream_time_ms\":9,\"cache\":\"miss\",\"route_class\":\"api_list\","
            "\"tls\":\"TLSv1.3\"}\n");
}

TEST(AccessLogJson, MissingFieldsAreNull) {
  AccessLogRecord r;
  r.time_ms = kTime;
  r.method = "GET";
  r.target = "/";
  r.protocol = "HTTP/1.0";
  EXPECT_EQ(line(r, AccessLogFormat::Json),
            "{\"time\":\"2026-12-04T12:34:56.789Z\",\"client\":null,\"method\":\"GET\","
            "\"target\":\"/\",\"protocol\":\"HTTP/1.0\",\"status\":null,\"bytes_sent\":0,"
            "\"user_agent\":null,\"referer\":null,\"type\":\"request\",\"request_id\":null,"
            "\"duration_ms\":null,\"upstream\":null,\"upstream_time_ms\":null,\"cache\":null,"
            "\"route_class\":null,\"tls\":null}\n");
}

TEST(AccessLogJson, TunnelsCarryBytesBothWays) {
  AccessLogRecord r = fullRecord();
  r.kind = "tunnel";
  r.status = 101;
  r.bytes_received = 77;
  const std::string out = line(r, AccessLogFormat::Json);
  EXPECT_NE(out.find("\"type\":\"tunnel\""), std::string::npos);
  EXPECT_NE(out.find("\"status\":101"), std::string::npos);
  EXPECT_NE(out.find("\"bytes_received\":77"), std::string::npos);
}

TEST(JsonString, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(json("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json("\n\r\t"), "\"\\n\\r\\t\"");
  EXPECT_EQ(json(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001F\\u007F\"");
  EXPECT_EQ(json(std::string("a\0b", 3)), "\"a\\u0000b\"");
}

TEST(JsonString, KeepsValidUtf8) {
  EXPECT_EQ(json("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

TEST(JsonString, ReplacesInvalidUtf8) {
  EXPECT_EQ(json("\xFF"), "\"\\ufffd\"");
  EXPECT_EQ(json("a\xC3"), "\"a\\ufffd\"") << "truncated sequence";
  EXPECT_EQ(json("\xC0\xAF"), "\"\\ufffd\\ufffd\"") << "overlong";
  EXPECT_EQ(json("\xED\xA0\x80"), "\"\\ufffd\\ufffd\\ufffd\"") << "surrogate";
  EXPECT_EQ(json("\xF4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"") << "above U+10FFFF";
  EXPECT_EQ(json("\x80x"), "\"\\ufffdx\"") << "lone continuation byte";
}

TEST(AccessLogCombined, NginxCombinedThenExtras) {
  EXPECT_EQ(line(fullRecord(), AccessLogFormat::Combined),
            "127.0.0.1 - - [04/Dec/2026:12:34:56 +0000] \"GET /api/v1/sites?page=2 HTTP/1.1\" "
            "200 512 \"https://example.test/\" \"curl/8.5.0\" time=2026-12-04T12:34:56.789Z "
            "type=request request_id=abc-123 duration_ms=12 upstream=127.0.0.1:8080 "
            "upstream_time_ms=9 cache=miss route_class=api_list tls=TLSv1.3\n");
}

TEST(AccessLogCombined, MissingFieldsAreDashes) {
  AccessLogRecord r;
  r.time_ms = kTime;
  r.method = "GET";
  r.target = "/";
  r.protocol = "HTTP/1.1";
  EXPECT_EQ(line(r, AccessLogFormat::Combined),
            "- - - [04/Dec/2026:12:34:56 +0000] \"GET / HTTP/1.1\" - 0 \"-\" \"-\" "
            "time=2026-12-04T12:34:56.789Z type=request request_id=\"-\" duration_ms=- "
            "upstream=\"-\" upstream_time_ms=- cache=\"-\" route_class=\"-\" tls=\"-\"\n");
}

TEST(AccessLogCombined, EscapesQuotesAndBytesOutsideVisibleAscii) {
  AccessLogRecord r = fullRecord();
  r.user_agent = "evil\"agent\n\xFF";
  r.target = "/a b";
  const std::string out = line(r, AccessLogFormat::Combined);
  EXPECT_NE(out.find("\"evil\\x22agent\\x0A\\xFF\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"GET /a b HTTP/1.1\""), std::string::npos) << out;
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "one line";
}

}  // namespace
}  // namespace edge::http
