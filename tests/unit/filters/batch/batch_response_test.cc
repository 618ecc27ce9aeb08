#include "filters/batch/batch_response.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

namespace edge::filters::batch {
namespace {

std::string embedded(const ItemResponse& item) {
  std::string out;
  appendItemResponse(out, item);
  return out;
}

// Whether `text` is one valid JSON document.
bool isJson(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  return parser.parse(simdjson::padded_string(text)).get(root) == simdjson::SUCCESS;
}

ItemResponse typed(std::string_view type, std::string body, int status = 200) {
  return ItemResponse{"a", status, {{"Content-Type", std::string(type)}}, std::move(body)};
}

// ---- one item's response -------------------------------------------------------------------

TEST(AppendItemResponse, EmbedsJsonBodiesAsTheBytesTheyWere) {
  const std::string body = "{ \"id\" : 1,\n  \"name\": \"Site \\u0031\", \"n\": 1.50 }";
  EXPECT_EQ(embedded(typed("application/json", body)),
            "{\"id\":\"a\",\"status\":200,\"headers\":{\"content-type\":\"application/json\"},"
            "\"body\":" + body + "}");
}

TEST(AppendItemResponse, RecognisesJsonMediaTypes) {
  for (const char* type : {"application/json; charset=utf-8", "Application/JSON",
                           "application/problem+json", "application/vnd.api+json ;q=1"}) {
    SCOPED_TRACE(type);
    const std::string out = embedded(typed(type, "[1,2]"));
    EXPECT_NE(out.find(",\"body\":[1,2]}"), std::string::npos) << out;
    EXPECT_TRUE(isJson(out)) << out;
  }
}

TEST(AppendItemResponse, InvalidJsonLabelledJsonBecomesAString) {
  const std::string out = embedded(typed("application/json", "{\"oops\":"));
  EXPECT_NE(out.find(R"("body":"{\"oops\":")"), std::string::npos) << out;
  EXPECT_EQ(out.find("bodyEncoding"), std::string::npos) << out;
  EXPECT_TRUE(isJson(out)) << out;
}

TEST(AppendItemResponse, TextBodiesBecomeEscapedStrings) {
  const std::string text = "line \"1\"\n\tcaf\xc3\xa9\x01 \\";
  for (const char* type : {"text/plain; charset=utf-8", "text/html", "application/xml",
                           "application/atom+xml", "image/svg+xml", "application/javascript"}) {
    SCOPED_TRACE(type);
    const std::string out = embedded(typed(type, text));
    EXPECT_NE(out.find(R"("body":"line \"1\"\n\tcafé\u0001 \\")"), std::string::npos) << out;
    EXPECT_EQ(out.find("bodyEncoding"), std::string::npos) << out;
    EXPECT_TRUE(isJson(out)) << out;
  }
}

TEST(AppendItemResponse, BinaryBodiesAreBase64WithAMarker) {
  const std::string bytes("\x00\x01\x02\xff\xfe", 5);
  const std::string out = embedded(typed("application/octet-stream", bytes));
  EXPECT_EQ(out, "{\"id\":\"a\",\"status\":200,\"headers\":{\"content-type\":"
                 "\"application/octet-stream\"},\"body\":\"AAEC//4=\","
                 "\"bodyEncoding\":\"base64\"}");
  EXPECT_TRUE(isJson(out));
}

TEST(AppendItemResponse, Base64PadsEveryLength) {
  EXPECT_NE(embedded(typed("image/png", "M")).find("\"body\":\"TQ==\""), std::string::npos);
  EXPECT_NE(embedded(typed("image/png", "Ma")).find("\"body\":\"TWE=\""), std::string::npos);
  EXPECT_NE(embedded(typed("image/png", "Man")).find("\"body\":\"TWFu\""), std::string::npos);
}

TEST(AppendItemResponse, TextThatIsNotUtf8OrHasNoTypeIsBase64) {
  const std::string latin1 = embedded(typed("text/plain", "caf\xe9"));
  EXPECT_NE(latin1.find("\"body\":\"Y2Fm6Q==\",\"bodyEncoding\":\"base64\""), std::string::npos)
      << latin1;
  const std::string untyped = embedded(ItemResponse{"a", 200, {}, "hello"});
  EXPECT_NE(untyped.find("\"body\":\"aGVsbG8=\",\"bodyEncoding\":\"base64\""), std::string::npos)
      << untyped;
}

TEST(AppendItemResponse, EmptyBodyIsLeftOut) {
  EXPECT_EQ(embedded(ItemResponse{"a", 204, {}, ""}), R"({"id":"a","status":204,"headers":{}})");
  EXPECT_EQ(embedded(typed("application/json", "", 304)),
            R"({"id":"a","status":304,"headers":{"content-type":"application/json"}})");
}

TEST(AppendItemResponse, DropsFramingAndHopByHopHeaders) {
  const ItemResponse item{"a",
                          200,
                          {{"Content-Length", "2"},
                           {"Transfer-Encoding", "chunked"},
                           {"Connection", "keep-alive"},
                           {"Keep-Alive", "timeout=5"},
                           {"Proxy-Connection", "close"},
                           {"Upgrade", "h2c"},
                           {"Trailer", "x-sum"},
                           {"TE", "trailers"},
                           {"X-Cache", "HIT"},
                           {"ETag", "\"v1\""}},
                          ""};
  EXPECT_EQ(embedded(item),
            R"({"id":"a","status":200,"headers":{"x-cache":"HIT","etag":"\"v1\""}})");
}

TEST(AppendItemResponse, LowerCasesNamesAndJoinsRepeatedHeaders) {
  const ItemResponse item{"a",
                          200,
                          {{"Vary", "Accept-Encoding"},
                           {"X-One", "1"},
                           {"vary", "Accept-Language"},
                           {"VARY", "x-org-id"}},
                          ""};
  EXPECT_EQ(embedded(item), R"({"id":"a","status":200,"headers":{"vary":)"
                            R"("Accept-Encoding, Accept-Language, x-org-id","x-one":"1"}})");
}

TEST(AppendItemResponse, SetCookieIsAnArrayOfItsValues) {
  const ItemResponse one{"a", 200, {{"Set-Cookie", "a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT"}},
                         ""};
  EXPECT_EQ(embedded(one), R"({"id":"a","status":200,"headers":{"set-cookie":)"
                           R"(["a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT"]}})");
  const ItemResponse two{"a", 200, {{"Set-Cookie", "a=1"}, {"set-cookie", "b=2"}}, ""};
  EXPECT_EQ(embedded(two),
            R"({"id":"a","status":200,"headers":{"set-cookie":["a=1","b=2"]}})");
}

TEST(AppendItemResponse, EscapesIdsAndHeaderValues) {
  const ItemResponse item{"q\"\\\n", 200, {{"X-Q", "a\"b"}}, ""};
  const std::string out = embedded(item);
  EXPECT_EQ(out, R"({"id":"q\"\\\n","status":200,"headers":{"x-q":"a\"b"}})");
  EXPECT_TRUE(isJson(out));
}

TEST(ErrorResponse, IsAJsonErrorBody) {
  const ItemResponse item = errorResponse("b", 424, "a \"dependency\" failed");
  EXPECT_EQ(item.id, "b");
  EXPECT_EQ(item.status, 424);
  EXPECT_EQ(item.body, R"({"error":"a \"dependency\" failed"})");
  EXPECT_EQ(embedded(item), R"({"id":"b","status":424,"headers":{"content-type":)"
                            R"("application/json"},"body":{"error":"a \"dependency\" failed"}})");
}

}  // namespace
}  // namespace edge::filters::batch
