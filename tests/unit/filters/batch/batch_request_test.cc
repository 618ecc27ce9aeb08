#include "filters/batch/batch_request.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace edge::filters::batch {
namespace {

constexpr std::string_view kBatchPath = "/api/v1/batch";

// The items of a batch that must parse.
std::vector<ItemRequest> itemsOf(std::string_view body, size_t max_items = 20) {
  auto parsed = parseBatch(body, {max_items});
  if (const auto* error = std::get_if<BatchError>(&parsed)) {
    ADD_FAILURE() << "refused: " << error->message;
    return {};
  }
  return std::get<std::vector<ItemRequest>>(std::move(parsed));
}

// The message of a batch that must be refused with 400.
std::string errorOf(std::string_view body, size_t max_items = 20) {
  auto parsed = parseBatch(body, {max_items});
  const auto* error = std::get_if<BatchError>(&parsed);
  if (error == nullptr) {
    ADD_FAILURE() << "accepted: " << body;
    return {};
  }
  EXPECT_EQ(error->status, 400);
  return error->message;
}

// The byte offset named by an "invalid JSON at byte N: ..." message, or -1.
long jsonErrorOffset(std::string_view body) {
  const std::string message = errorOf(body);
  const std::string prefix = "invalid JSON at byte ";
  if (!message.starts_with(prefix)) {
    ADD_FAILURE() << "not a JSON error: " << message;
    return -1;
  }
  return std::stol(message.substr(prefix.size()));
}

// ---- deep nesting: refused in one pass, never walked recursively ---------------------------

std::string nested(size_t depth, std::string_view inner = "") {
  return std::string(depth, '[') + std::string(inner) + std::string(depth, ']');
}

TEST(ParseBatch, DeeplyNestedRequestsAreNestedTooDeepAtTheFirstBracketPastTheLimit) {
  for (size_t depth : {1100, 200000}) {
    SCOPED_TRACE(depth);
    const std::string body = "{\"requests\":[" + nested(depth) + "]}";
    const std::string message = errorOf(body);
    EXPECT_NE(message.find("nested too deep"), std::string::npos) << message.substr(0, 200);
    // "{" opens level 1, the "requests" array level 2: the bracket opening level 1025.
    const long offset = jsonErrorOffset(body);
    EXPECT_EQ(offset, static_cast<long>(std::string("{\"requests\":[").size()) + 1022);
    EXPECT_EQ(body[static_cast<size_t>(offset)], '[');
  }
}

TEST(ParseBatch, ADeeplyNestedItemBodyIsNestedTooDeep) {
  const std::string body = R"({"requests":[{"id":"a","path":"/x","body":{"k":)" +
                           nested(100000, "\"]]]{{\"") + "}}]}";
  EXPECT_NE(errorOf(body).find("nested too deep"), std::string::npos);
}

TEST(ParseBatch, NestingWithinTheLimitIsAnItemBody) {
  const std::string body = R"({"requests":[{"id":"a","path":"/x","body":)" + nested(1000) + "}]}";
  const auto items = itemsOf(body);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(*items[0].body, nested(1000));
}

TEST(ParseBatch, ASyntaxErrorDeepInsideIsFoundWithoutRecursingPastTheLimit) {
  const std::string body = R"({"requests":[{"id":"a","path":"/x","body":)" + nested(1000, "tru") + "}]}";
  const std::string prefix = R"({"requests":[{"id":"a","path":"/x","body":)";
  EXPECT_EQ(jsonErrorOffset(body), static_cast<long>(prefix.size() + 1000));
}

// ---- well-formed batches -------------------------------------------------------------------

TEST(ParseBatch, ItemDefaultsToGetWithoutHeadersOrBody) {
  const auto items = itemsOf(R"({"requests":[{"id":"a","path":"/sites/1"}]})");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].id, "a");
  EXPECT_EQ(items[0].method, "GET");
  EXPECT_EQ(items[0].path, "/sites/1");
  EXPECT_TRUE(items[0].headers.empty());
  EXPECT_FALSE(items[0].body.has_value());
  EXPECT_FALSE(items[0].body_is_json);
  EXPECT_TRUE(items[0].depends_on.empty());
}

TEST(ParseBatch, KeepsRequestOrderAndQueryStrings) {
  const auto items = itemsOf(R"({"requests":[
      {"id":"z","path":"/b?x=1&y=2"},
      {"id":"a","method":"HEAD","path":"/a"},
      {"id":"m","method":"DELETE","path":"/c"}]})");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].id, "z");
  EXPECT_EQ(items[0].path, "/b?x=1&y=2");
  EXPECT_EQ(items[1].id, "a");
  EXPECT_EQ(items[1].method, "HEAD");
  EXPECT_EQ(items[2].id, "m");
  EXPECT_EQ(items[2].method, "DELETE");
}

TEST(ParseBatch, AcceptsEveryListedMethod) {
  for (const char* method : {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}) {
    SCOPED_TRACE(method);
    const auto items = itemsOf(std::string(R"({"requests":[{"id":"a","method":")") + method +
                               R"(","path":"/x"}]})");
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].method, method);
  }
}

TEST(ParseBatch, LowerCasesHeaderNamesAndKeepsValuesAndOrder) {
  const auto items = itemsOf(
      R"({"requests":[{"id":"a","path":"/x","headers":{"If-None-Match":"\"v1\"",)"
      R"("X-Trace":"Mixed Case","accept":"text/plain"}}]})");
  ASSERT_EQ(items.size(), 1u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"if-none-match", "\"v1\""}, {"x-trace", "Mixed Case"}, {"accept", "text/plain"}};
  EXPECT_EQ(items[0].headers, expected);
}

TEST(ParseBatch, StringBodyIsSentAsIs) {
  const auto items =
      itemsOf(R"({"requests":[{"id":"a","method":"POST","path":"/x","body":"a=1&b=\"2\"\n"}]})");
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].body.has_value());
  EXPECT_EQ(*items[0].body, "a=1&b=\"2\"\n");
  EXPECT_FALSE(items[0].body_is_json);
}

TEST(ParseBatch, EmptyStringBodyIsAnEmptyBody) {
  const auto items = itemsOf(R"({"requests":[{"id":"a","method":"POST","path":"/x","body":""}]})");
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].body.has_value());
  EXPECT_EQ(*items[0].body, "");
  EXPECT_FALSE(items[0].body_is_json);
}

TEST(ParseBatch, JsonBodyIsMinified) {
  const auto items = itemsOf(
      "{\"requests\":[{\"id\":\"a\",\"method\":\"POST\",\"path\":\"/x\",\"body\":\n"
      "  { \"title\" : \"a b\" ,\n \"tags\" : [ 1 , 2.5 , true , null ], \"o\": {} } }]}");
  ASSERT_EQ(items.size(), 1u);
  ASSERT_TRUE(items[0].body.has_value());
  EXPECT_EQ(*items[0].body, R"({"title":"a b","tags":[1,2.5,true,null],"o":{}})");
  EXPECT_TRUE(items[0].body_is_json);
}

// Serialisers often write absent optional members as null: that is no body, not "null".
TEST(ParseBatch, NullBodyIsNoBody) {
  const auto items = itemsOf(R"({"requests":[{"id":"a","path":"/x","body":null}]})");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_FALSE(items[0].body.has_value());
  EXPECT_FALSE(items[0].body_is_json);
}

TEST(ParseBatch, JsonScalarsAndArraysAreJsonBodies) {
  const auto items = itemsOf(R"({"requests":[
      {"id":"n","method":"PUT","path":"/x","body":42},
      {"id":"t","method":"PUT","path":"/x","body":true},
      {"id":"l","method":"PUT","path":"/x","body":[ 1, "two" ]}]})");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].body, "42");
  EXPECT_EQ(items[1].body, "true");
  EXPECT_EQ(items[2].body, R"([1,"two"])");
  for (const auto& item : items) {
    EXPECT_TRUE(item.body_is_json) << item.id;
  }
}

TEST(ParseBatch, DependsOnResolvesIdsToIndicesInAnyOrder) {
  const auto items = itemsOf(R"({"requests":[
      {"id":"c","path":"/c","dependsOn":["a","b"]},
      {"id":"a","path":"/a"},
      {"id":"b","path":"/b","dependsOn":["a"]}]})");
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].depends_on, (std::vector<size_t>{1, 2}));
  EXPECT_TRUE(items[1].depends_on.empty());
  EXPECT_EQ(items[2].depends_on, (std::vector<size_t>{1}));
}

TEST(ParseBatch, MaxItemsIsInclusive) {
  const std::string two = R"({"requests":[{"id":"a","path":"/a"},{"id":"b","path":"/b"}]})";
  EXPECT_EQ(itemsOf(two, 2).size(), 2u);
  EXPECT_EQ(errorOf(two, 1), "requests: 2 items, more than the limit of 1");
}

// ---- refused batches -----------------------------------------------------------------------

TEST(ParseBatch, InvalidJsonNamesTheByteOfTheError) {
  // {"requests":[}  -- the '}' at byte 13 cannot start a value.
  EXPECT_EQ(jsonErrorOffset(R"({"requests":[})"), 13);
  // A trailing comma: the '}' after it is at byte 35.
  EXPECT_EQ(jsonErrorOffset(R"({"requests":[{"id":"a","path":"/x",}]})"), 35);
  // A missing comma: the second key starts at byte 23.
  EXPECT_EQ(jsonErrorOffset(R"({"requests":[{"id":"a" "path":"/x"}]})"), 23);
  // A misspelt literal at byte 12.
  EXPECT_EQ(jsonErrorOffset(R"({"requests":tru})"), 12);
  // A bad escape inside the string starting at byte 19.
  const long escape = jsonErrorOffset(R"({"requests":[{"id":"\q","path":"/x"}]})");
  EXPECT_GE(escape, 19);
  EXPECT_LE(escape, 21);
}

TEST(ParseBatch, TruncatedJsonPointsAtTheEnd) {
  const std::string body = R"({"requests":[{"id":"a")";
  EXPECT_EQ(jsonErrorOffset(body), static_cast<long>(body.size()));
  EXPECT_EQ(jsonErrorOffset(""), 0);
  EXPECT_EQ(jsonErrorOffset("   "), 3);
}

TEST(ParseBatch, TrailingContentAfterTheDocumentIsInvalid) {
  // The document ends at byte 36; the stray value starts at 38.
  EXPECT_EQ(jsonErrorOffset(R"({"requests":[{"id":"a","path":"/x"}]} x)"), 38);
}

TEST(ParseBatch, InvalidUtf8IsInvalidJson) {
  EXPECT_EQ(jsonErrorOffset("{\"requests\":[{\"id\":\"\xff\",\"path\":\"/x\"}]}"), 20);
}

TEST(ParseBatch, InvalidJsonMessageSaysWhatIsWrong) {
  const std::string message = errorOf(R"({"requests":[})");
  EXPECT_TRUE(message.starts_with("invalid JSON at byte 13: ")) << message;
  EXPECT_GT(message.size(), std::string("invalid JSON at byte 13: ").size()) << message;
}

TEST(ParseBatch, RefusesWrongShapes) {
  const std::string shape = "expected an object with a \"requests\" array";
  EXPECT_EQ(errorOf("[]"), shape);
  EXPECT_EQ(errorOf("\"requests\""), shape);
  EXPECT_EQ(errorOf("{}"), shape);
  EXPECT_EQ(errorOf(R"({"requests":{}})"), shape);
  EXPECT_EQ(errorOf(R"({"requests":null})"), shape);
  EXPECT_EQ(errorOf(R"({"requests":[{"id":"a","path":"/"}],"extra":1})"),
            "unknown member \"extra\" (only \"requests\")");
  EXPECT_EQ(errorOf(R"({"requests":[]})"), "requests: the batch has no items");
}

TEST(ParseBatch, RefusesBadItems) {
  struct Case {
    const char* item;
    const char* message;
  };
  const Case cases[] = {
      {R"(1)", "requests[0]: expected an object with id, method, path"},
      {R"({"path":"/x"})", "requests[0].id: missing: every item needs an id to match its response"},
      {R"({"id":"","path":"/x"})", "requests[0].id: expected a non-empty string"},
      {R"({"id":7,"path":"/x"})", "requests[0].id: expected a non-empty string"},
      {R"({"id":"a"})", "requests[0].path: missing"},
      {R"({"id":"a","path":7})", "requests[0].path: expected a string like \"/api/v1/sites/1\""},
      {R"({"id":"a","path":"/x","method":1})",
       "requests[0].method: expected a string like \"GET\""},
      {R"({"id":"a","path":"/x","method":"get"})",
       "requests[0].method: unsupported method \"get\" (GET, HEAD, POST, PUT, PATCH, DELETE or "
       "OPTIONS)"},
      {R"({"id":"a","path":"/x","method":"TRACE"})",
       "requests[0].method: unsupported method \"TRACE\" (GET, HEAD, POST, PUT, PATCH, DELETE or "
       "OPTIONS)"},
      {R"({"id":"a","path":"/x","headers":["a"]})",
       "requests[0].headers: expected an object of header names to string values"},
      {R"({"id":"a","path":"/x","headers":{"bad name":"v"}})",
       "requests[0].headers: invalid header name \"bad name\""},
      {R"({"id":"a","path":"/x","headers":{"":"v"}})",
       "requests[0].headers: invalid header name \"\""},
      {R"({"id":"a","path":"/x","headers":{"X-N":1}})",
       "requests[0].headers.X-N: expected a string without control characters"},
      {R"({"id":"a","path":"/x","headers":{"X-A":"a\r\nX-B: b"}})",
       "requests[0].headers.X-A: expected a string without control characters"},
      {R"({"id":"a","path":"/x","headers":{"X-A":"a\u0000"}})",
       "requests[0].headers.X-A: expected a string without control characters"},
      {R"({"id":"a","path":"/x","dependsOn":"b"})",
       "requests[0].dependsOn: expected an array of item ids"},
      {R"({"id":"a","path":"/x","dependsOn":[1]})",
       "requests[0].dependsOn: expected an array of item ids (strings)"},
      {R"({"id":"a","path":"/x","url":"/y"})",
       "requests[0].url: unknown member (id, method, path, headers, body, dependsOn)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.item);
    EXPECT_EQ(errorOf(std::string(R"({"requests":[)") + c.item + "]}"), c.message);
  }
}

TEST(ParseBatch, HeaderValuesMayHoldTabs) {
  const auto items = itemsOf(R"({"requests":[{"id":"a","path":"/x","headers":{"x":"a\tb"}}]})");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].headers[0].second, "a\tb");
}

TEST(ParseBatch, ErrorNamesTheIndexOfTheItem) {
  EXPECT_EQ(errorOf(R"({"requests":[{"id":"a","path":"/x"},{"id":"b"}]})"),
            "requests[1].path: missing");
}

TEST(ParseBatch, RefusesDuplicateIds) {
  EXPECT_EQ(errorOf(R"({"requests":[{"id":"a","path":"/x"},{"id":"b","path":"/y"},)"
                    R"({"id":"a","path":"/z"}]})"),
            "requests[2].id: \"a\" is used twice");
}

TEST(ParseBatch, RefusesDependsOnUnknownIdsAndTheItemItself) {
  EXPECT_EQ(errorOf(R"({"requests":[{"id":"a","path":"/x","dependsOn":["zz"]}]})"),
            "requests[0].dependsOn: \"zz\" is not an id of this batch");
  EXPECT_EQ(errorOf(R"({"requests":[{"id":"b","path":"/y"},)"
                    R"({"id":"a","path":"/x","dependsOn":["b","a"]}]})"),
            "requests[1].dependsOn: \"a\" is the item itself");
}

TEST(ParseBatch, RefusesCyclesAndNamesTheCycle) {
  EXPECT_EQ(errorOf(R"({"requests":[{"id":"a","path":"/x","dependsOn":["b"]},)"
                    R"({"id":"b","path":"/y","dependsOn":["a"]}]})"),
            "dependsOn forms a cycle: \"a\" -> \"b\" -> \"a\"");
  // The item that leads into the cycle is not part of it.
  EXPECT_EQ(errorOf(R"({"requests":[{"id":"x","path":"/","dependsOn":["a"]},)"
                    R"({"id":"a","path":"/","dependsOn":["b"]},)"
                    R"({"id":"b","path":"/","dependsOn":["c"]},)"
                    R"({"id":"c","path":"/","dependsOn":["a"]}]})"),
            "dependsOn forms a cycle: \"a\" -> \"b\" -> \"c\" -> \"a\"");
}

TEST(ParseBatch, ADiamondIsNotACycle) {
  const auto items = itemsOf(R"({"requests":[{"id":"a","path":"/"},)"
                             R"({"id":"b","path":"/","dependsOn":["a"]},)"
                             R"({"id":"c","path":"/","dependsOn":["a"]},)"
                             R"({"id":"d","path":"/","dependsOn":["b","c"]}]})");
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[3].depends_on, (std::vector<size_t>{1, 2}));
}

// ---- item targets --------------------------------------------------------------------------

TEST(TargetProblem, AllowsOriginFormPathsWithQueries) {
  for (const char* target : {"/", "/api/v1/sites/1", "/api/v1/work-orders?fields=id,title&page=2",
                             "/a/..b/c.", "/.well-known/x", "/a?next=../../etc",
                             "/a//b", "/api/v1/batch/", "/api/v1/batches", "/x?p=%2e%2e"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(targetProblem(target, kBatchPath), "");
  }
}

TEST(TargetProblem, RefusesSchemesAndHosts) {
  for (const char* target : {"", "sites/1", "http://evil.example/x", "https://h/", "*",
                             "evil.example:80"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(targetProblem(target, kBatchPath),
              "must be a path starting with \"/\" (no scheme or host)");
  }
  for (const char* target : {"//evil.example/x", "///x"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(targetProblem(target, kBatchPath), "must not start with \"//\" (that names a host)");
  }
}

TEST(TargetProblem, RefusesDotSegments) {
  for (const char* target : {"/..", "/a/..", "/a/../b", "/./a", "/a/.", "/a/./b?q=1",
                             "/a/..?q"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(targetProblem(target, kBatchPath), "must not contain \".\" or \"..\" segments");
  }
}

// Servlet containers read ";" as the start of path parameters and drop them, so "..;" and
// ".;x" climb or stay like the dot segments they become.
TEST(TargetProblem, RefusesDotSegmentsWithPathParameters) {
  for (const char* target : {"/api/..;/admin", "/a/..;x=1/b", "/a/.;/b", "/..;"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(targetProblem(target, kBatchPath), "must not contain \".\" or \"..\" segments");
  }
  EXPECT_EQ(targetProblem("/a;v=1/b;x", kBatchPath), "");
}

// Some servers take a backslash for a slash: "/a/..\\b" climbs there.
TEST(TargetProblem, RefusesBackslashes) {
  for (const char* target : {"/a/..\\b", "/a\\b", "/\\evil.example/x"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(targetProblem(target, kBatchPath), "must not contain backslashes");
  }
}

TEST(TargetProblem, RefusesEncodedDotsAndSlashes) {
  for (const char* target : {"/a/%2e%2e/b", "/a/%2E%2e", "/a/.%2e/b", "/a%2fb", "/a%2F..",
                             "/a%5c..%5cb"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(targetProblem(target, kBatchPath), "must not contain encoded dots or slashes");
  }
}

TEST(TargetProblem, RefusesControlCharactersAndSpaces) {
  for (const std::string& target : {std::string("/a b"), std::string("/a\tb"),
                                   std::string("/a\r\nHost: evil"), std::string("/a\x7f"),
                                   std::string("/a\0b", 4), std::string("/a?q=\x01")}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(targetProblem(target, kBatchPath), "must not contain spaces or control characters");
  }
}

TEST(TargetProblem, RefusesBytesOutsideAscii) {
  // é, U+2028 LINE SEPARATOR, NBSP and a BOM, raw in UTF-8: never put into a request line.
  for (const std::string& target : {std::string("/\xc3\xa9"), std::string("/a\xe2\x80\xa8"),
                                   std::string("/a?q=\xc2\xa0"), std::string("/\xef\xbb\xbf")}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(targetProblem(target, kBatchPath),
              "must be ASCII: percent-encode other characters (their UTF-8 bytes as %XX)");
  }
  EXPECT_EQ(targetProblem("/caf%C3%A9", kBatchPath), "");
}

TEST(TargetProblem, RefusesFragments) {
  EXPECT_EQ(targetProblem("/a#top", kBatchPath), "must not contain a fragment");
  EXPECT_EQ(targetProblem("/a?q=1#top", kBatchPath), "must not contain a fragment");
}

TEST(TargetProblem, RefusesTheBatchEndpoint) {
  const std::string nested = "must not be the batch endpoint (batches do not nest)";
  EXPECT_EQ(targetProblem("/api/v1/batch", kBatchPath), nested);
  EXPECT_EQ(targetProblem("/api/v1/batch?x=1", kBatchPath), nested);
  EXPECT_EQ(targetProblem("/bulk", "/bulk"), nested);
  EXPECT_EQ(targetProblem("/api/v1/batch", "/bulk"), "");
}

}  // namespace
}  // namespace edge::filters::batch
