#include "lib/json/projection.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>
#include <string_view>

namespace edge::filters::json {
namespace {

FieldSelection selectionOf(std::string_view fields) {
  auto parsed = parseFields(fields);
  if (auto* error = std::get_if<SelectionError>(&parsed)) {
    ADD_FAILURE() << fields << ": " << error->message;
    return {};
  }
  return std::get<FieldSelection>(std::move(parsed));
}

bool isValidJson(std::string_view text) {
  simdjson::dom::parser parser;
  if (parser.allocate(text.size(), 20000)) {  // deep enough for the nesting tests
    return false;
  }
  return !parser.parse(simdjson::padded_string(text)).error();
}

std::string projected(std::string_view json, const FieldSelection& selection,
                      const ProjectionOptions& options = {}) {
  std::string out;
  EXPECT_EQ(project(json, selection, options, out), ProjectStatus::Projected) << json;
  EXPECT_TRUE(isValidJson(out)) << out;
  return out;
}

std::string projected(std::string_view json, std::string_view fields,
                      const ProjectionOptions& options = {}) {
  return projected(json, selectionOf(fields), options);
}

// ---- objects and nesting -----------------------------------------------------------------------

TEST(Project, KeepsSelectedMembersInTheirOriginalOrder) {
  EXPECT_EQ(projected(R"({"title":"t","id":1,"x":2})", "id,title"), R"({"title":"t","id":1})");
}

TEST(Project, SelectsNestedMembersByDottedPaths) {
  EXPECT_EQ(projected(R"({"id":1,"site":{"name":"N","code":"C"},"x":{}})", "id,site.name"),
            R"({"id":1,"site":{"name":"N"}})");
  EXPECT_EQ(projected(R"({"a":{"b":{"c":1,"d":2},"e":3}})", "a(b(d),e)"),
            R"({"a":{"b":{"d":2},"e":3}})");
}

TEST(Project, CopiesKeptValuesAsRawBytes) {
  EXPECT_EQ(projected(R"( { "a" : [1, 2 ,3] , "b" : { "c" : 1.50e3 } , "n":-0.0 } )", "a,b,n"),
            R"({"a":[1, 2 ,3],"b":{ "c" : 1.50e3 },"n":-0.0})");
}

TEST(Project, LeavesMissingFieldsOut) {
  EXPECT_EQ(projected(R"({"id":1})", "id,nope,site.name"), R"({"id":1})");
  EXPECT_EQ(projected(R"({"site":{"code":1}})", "site.name"), R"({"site":{}})");
  EXPECT_EQ(projected(R"({"x":1})", "id"), "{}");
}

TEST(Project, KeepsScalarsAndNullWhereTheSelectionGoesDeeper) {
  EXPECT_EQ(projected(R"({"site":null,"owner":"bob","n":[1,{"name":"a","z":1},null,true]})",
                      "site.name,owner.name,n.name"),
            R"({"site":null,"owner":"bob","n":[1,{"name":"a"},null,true]})");
}

TEST(Project, WildcardKeepsEveryMemberAndStillProjectsNamedOnes) {
  const std::string json = R"({"a":1,"site":{"name":"n","code":"c"},"b":[1]})";
  EXPECT_EQ(projected(json, "*,site.name"), R"({"a":1,"site":{"name":"n"},"b":[1]})");
  EXPECT_EQ(projected(json, "site.*"), R"({"site":{"name":"n","code":"c"}})");
  EXPECT_EQ(projected(json, "*"), json);
}

TEST(Project, KeepsTheFirstOccurrenceOfADuplicatedSelectedKey) {
  EXPECT_EQ(projected(R"({"id":1,"x":0,"id":{"a":1,"b":2}})", "id.a"), R"({"id":1})");
  EXPECT_EQ(projected(R"({"id":{"b":2},"id":{"a":1}})", "id.a"), R"({"id":{}})");
  // Also while another selected member is still missing.
  EXPECT_EQ(projected(R"({"id":1,"x":0,"id":2,"name":"n","id":3})", "id,name,nope"),
            R"({"id":1,"name":"n"})");
  EXPECT_EQ(projected(R"([{"a":{"b":1,"b":2},"a":3}])", "a.b"), R"([{"a":{"b":1}}])");
}

TEST(Project, KeepsEveryOccurrenceOfADuplicatedKeyUnderAWildcard) {
  EXPECT_EQ(projected(R"({"x":1,"x":2,"s":{"n":1,"c":2},"s":{"n":3}})", "*,s.n"),
            R"({"x":1,"x":2,"s":{"n":1},"s":{"n":3}})");
}

TEST(Project, SkipsTheRestOfAnObjectOnceEverySelectedMemberIsFound) {
  // The rest is skipped like an unselected value: brackets and strings are still checked.
  EXPECT_EQ(projected(R"([{"id":1,"x":tru,"y":{"z":[1,]}},{"x":nul,"id":2}])", "id"),
            R"([{"id":1},{"id":2}])");
  EXPECT_EQ(projected(R"({"a":{"b":1,"c":2,}})", "a.b"), R"({"a":{"b":1}})");
  EXPECT_EQ(projected(R"({"id":1,"x":{"y":[1,{"z":2}]},"w":3})", "id", ProjectionOptions{""}),
            R"({"id":1})");
  std::string out;
  for (const char* json : {R"([{"id":1,"x":[}])", R"([{"id":1,"x":"y}])",
                           R"({"id":1,"x":{}} x)", R"({"id":1,"x":2}})"}) {
    SCOPED_TRACE(json);
    EXPECT_EQ(project(json, selectionOf("id"), ProjectionOptions{""}, out),
              ProjectStatus::InvalidJson);
  }
  EXPECT_EQ(out, "");
}

// ---- arrays ------------------------------------------------------------------------------------

TEST(Project, AppliesTheSelectionToEachElementOfATopLevelArray) {
  EXPECT_EQ(projected(R"([{"id":1,"x":2},{"id":2},{}])", "id"), R"([{"id":1},{"id":2},{}])");
}

TEST(Project, AppliesPathsThroughArrays) {
  EXPECT_EQ(projected(R"({"items":[{"id":1,"x":2},{"x":3}],"y":0})", "items.id"),
            R"({"items":[{"id":1},{}]})");
}

TEST(Project, AppliesTheSelectionThroughArraysOfArrays) {
  EXPECT_EQ(projected(R"([[{"id":1,"x":1}],[[{"id":2,"y":3}]],[],5])", "id"),
            R"([[{"id":1}],[[{"id":2}]],[],5])");
  EXPECT_EQ(projected(R"({"m":[[{"a":1,"b":2}]]})", "m.a"), R"({"m":[[{"a":1}]]})");
}

// ---- envelopes ---------------------------------------------------------------------------------

TEST(Project, AppliesTheSelectionInsideTheEnvelopeAndPassesSiblings) {
  EXPECT_EQ(projected(R"({"meta": {"page": 1}, "data": [{"id":1,"x":2}], "links" : {"n":"/x"}})",
                      "id"),
            R"({"meta":{"page": 1},"data":[{"id":1}],"links":{"n":"/x"}})");
  EXPECT_EQ(projected(R"({"data":{"id":1,"x":2},"meta":{}})", "id"),
            R"({"data":{"id":1},"meta":{}})");
  EXPECT_EQ(projected(R"({"data":null,"meta":1})", "id"), R"({"data":null,"meta":1})");
}

TEST(Project, ProjectsTheObjectItselfWithoutTheEnvelopeKey) {
  EXPECT_EQ(projected(R"({"id":1,"meta":2,"datum":3})", "id"), R"({"id":1})");
}

TEST(Project, UsesTheConfiguredEnvelopeKey) {
  const std::string json = R"({"items":[{"id":1,"x":1}],"data":{"id":2,"x":2},"id":3})";
  EXPECT_EQ(projected(json, "id", ProjectionOptions{"items"}),
            R"({"items":[{"id":1}],"data":{"id":2,"x":2},"id":3})");
  EXPECT_EQ(projected(json, "id", ProjectionOptions{""}), R"({"id":3})");
  EXPECT_EQ(projected(json, "id"), R"({"items":[{"id":1,"x":1}],"data":{"id":2},"id":3})");
}

TEST(Project, MatchesAnEscapedEnvelopeKeyAndEveryDuplicate) {
  EXPECT_EQ(projected(R"({"d\u0061ta":[{"id":1,"x":1}],"data":{"id":2,"x":2}})", "id"),
            R"({"d\u0061ta":[{"id":1}],"data":{"id":2}})");
}

// ---- keys and values with escapes and unicode --------------------------------------------------

TEST(Project, MatchesUnescapedKeysAndWritesThemAsGiven) {
  const std::string json =
      R"({"na\u006de":"x","caf\u00e9":1,"\"q\"":2,"emoji":"\ud83d\ude00","a\\":3,"other":4})";
  EXPECT_EQ(projected(json, "name,caf\xc3\xa9,\"q\",a\\"),
            R"({"na\u006de":"x","caf\u00e9":1,"\"q\"":2,"a\\":3})");
  EXPECT_EQ(projected(json, "emoji"), R"({"emoji":"\ud83d\ude00"})");
}

TEST(Project, CopiesEscapedAndUnicodeValuesUnchanged) {
  const std::string json = "{\"t\":\"a\\\"b\\\\c\\u0000\\n/\",\"u\":\"\xe6\x97\xa5\xe6\x9c\xac\","
                           "\"k\xc3\xa9y\":\"\xf0\x9f\x98\x80\",\"x\":1}";
  EXPECT_EQ(projected(json, "t,u,k\xc3\xa9y"),
            "{\"t\":\"a\\\"b\\\\c\\u0000\\n/\",\"u\":\"\xe6\x97\xa5\xe6\x9c\xac\","
            "\"k\xc3\xa9y\":\"\xf0\x9f\x98\x80\"}");
}

// ---- top levels and empty selections -----------------------------------------------------------

TEST(Project, PassesScalarsAndEmptyContainersAtTheTop) {
  for (const char* json : {"42", "-1.5e3", "\"s\"", "null", "true", "false", "[]", "{}"}) {
    SCOPED_TRACE(json);
    EXPECT_EQ(projected(json, "id"), json);
    EXPECT_EQ(projected(std::string(" \n") + json + " \t", "id"), json);
  }
  EXPECT_EQ(projected("[1,\"a\",null]", "id"), "[1,\"a\",null]");
}

TEST(Project, AnEmptySelectionKeepsTheWholeDocument) {
  EXPECT_EQ(projected(R"(  {"a" : 1, "b":[ 2 ]} )", FieldSelection{}), R"({"a" : 1, "b":[ 2 ]})");
}

TEST(Project, AppendsToWhatTheOutputAlreadyHolds) {
  std::string out = "prefix:";
  ASSERT_EQ(project(R"({"id":1,"x":2})", selectionOf("id"), {}, out), ProjectStatus::Projected);
  EXPECT_EQ(out, R"(prefix:{"id":1})");
}

TEST(Project, ReadsPaddedBuffersInPlaceOrCopiesThem) {
  std::string json = R"({"id":1,"x":2})";
  std::string out;
  EXPECT_EQ(projectPadded(json, selectionOf("id"), {}, out), ProjectStatus::Projected);
  json.reserve(json.size() + kJsonPadding);
  EXPECT_EQ(projectPadded(json, selectionOf("id"), {}, out), ProjectStatus::Projected);
  EXPECT_EQ(out, R"({"id":1}{"id":1})");
}

// ---- invalid input -----------------------------------------------------------------------------

TEST(Project, ReportsInvalidJsonAndLeavesTheOutputAlone) {
  const char* invalid[] = {
      "",
      "   ",
      R"({"id":1)",
      R"({"id":1,"x":[1,2)",
      R"([{"id":1},{"id":)",
      R"({"id":1} x)",
      R"({"id":1}})",
      R"([1,2] [3])",
      R"("abc)",
      "{\"id\":\"\xff\"}",
      "{\"x\":\"\xc3\"}",
      "{\"id\":\"a\x01\"}",
      R"({"id" 1})",
      R"({id:1})",
      R"({"id":1,})",
      R"([{"id":1},])",
      R"({"a":{"b":1},"data":[{"id":1}],)",
      "nul",
      "tru",
      R"("s" x)",
      "1 2",
      "true false",
      "null,",
      "[1,tru]",
      R"({"id":01})",
      R"({"id":nul,"x":1})",
      R"({"data":[{"id":-}]})",
  };
  for (const char* json : invalid) {
    SCOPED_TRACE(json);
    std::string out = "kept";
    EXPECT_EQ(project(json, selectionOf("id"), {}, out), ProjectStatus::InvalidJson);
    EXPECT_EQ(out, "kept");
  }
}

TEST(Project, ReportsInvalidJsonForJsonApiAndEnvelopeDocuments) {
  auto typed = std::get<FieldSelection>(parseTypedFields({{"a", "x"}}));
  for (const char* json : {R"({"data":[{"type":"a","id":"1","attributes":{"x":1})",
                           R"({"data":{"type":"a","id":"1"}} [)"}) {
    SCOPED_TRACE(json);
    std::string out;
    EXPECT_EQ(project(json, typed, {}, out), ProjectStatus::InvalidJson);
    EXPECT_EQ(project(json, selectionOf("id"), {}, out), ProjectStatus::InvalidJson);
    EXPECT_EQ(out, "");
  }
}

// ---- size and depth ----------------------------------------------------------------------------

std::string nested(size_t depth, std::string_view open, std::string_view inner,
                   std::string_view close) {
  std::string text;
  for (size_t i = 0; i < depth; ++i) {
    text += open;
  }
  text += inner;
  for (size_t i = 0; i < depth; ++i) {
    text += close;
  }
  return text;
}

TEST(Project, SkipsOrCopiesDeeplyNestedValuesWhole) {
  const std::string deep = nested(10000, "[", "1", "]");
  EXPECT_EQ(projected(R"({"id":1,"deep":)" + deep + "}", "id"), R"({"id":1})");
  EXPECT_EQ(projected(R"({"id":1,"deep":)" + deep + "}", "deep"), R"({"deep":)" + deep + "}");
  const std::string objects = nested(10000, R"({"a":)", "1", "}");
  EXPECT_EQ(projected(objects, "a.a.a"),
            nested(3, R"({"a":)", nested(9997, R"({"a":)", "1", "}"), "}"));
}

TEST(Project, TreatsInputTooDeepToProjectAsInvalid) {
  std::string out;
  EXPECT_EQ(project(nested(10000, "[", "1", "]"), selectionOf("id"), {}, out),
            ProjectStatus::InvalidJson);
  EXPECT_EQ(project(nested(10000, "[", R"({"id":1,"x":2})", "]"), selectionOf("id"), {}, out),
            ProjectStatus::InvalidJson);
  EXPECT_EQ(out, "");
  const std::string allowed = nested(kMaxProjectionDepth - 1, "[", R"({"id":1,"x":2})", "]");
  EXPECT_EQ(projected(allowed, "id"), nested(kMaxProjectionDepth - 1, "[", R"({"id":1})", "]"));
}

TEST(Project, HandlesHugeArrays) {
  std::string json = R"({"meta":{"n":100000},"data":[)";
  std::string expected = R"({"meta":{"n":100000},"data":[)";
  for (int i = 0; i < 100000; ++i) {
    const std::string id = std::to_string(i);
    json += (i ? "," : "") + std::string(R"({"id":)") + id + R"(,"title":"t)" + id +
            R"(","tags":[1,2,3],"site":{"name":"s","code":)" + id + "}}";
    expected += (i ? "," : "") + std::string(R"({"id":)") + id + R"(,"site":{"name":"s"}})";
  }
  json += "]}";
  expected += "]}";
  EXPECT_EQ(projected(json, "id,site.name"), expected);
}

// ---- JSON:API ----------------------------------------------------------------------------------

FieldSelection typedOf(std::vector<std::pair<std::string, std::string>> by_type) {
  return std::get<FieldSelection>(parseTypedFields(by_type));
}

TEST(Project, KeepsNamedAttributesAndRelationshipsOfJsonApiResources) {
  const std::string json =
      R"({"data":[{"type":"articles","id":"1","attributes":{"title":"T","body":"B","at":"x"},)"
      R"("relationships":{"author":{"data":{"type":"people","id":"9"}},"comments":{"data":[]}},)"
      R"("links":{"self":"/a/1"},"extra":1},)"
      R"({"type":"photos","id":"2","attributes":{"title":"P"}}],)"
      R"("included":[{"type":"people","id":"9","attributes":{"name":"N","age":3},"meta":{"m":1}}],)"
      R"("meta":{"total":2},"jsonapi":{"version":"1.1"}})";
  EXPECT_EQ(projected(json, typedOf({{"articles", "title,author"}, {"people", "name"}})),
            R"({"data":[{"type":"articles","id":"1","attributes":{"title":"T"},)"
            R"("relationships":{"author":{"data":{"type":"people","id":"9"}}},)"
            R"("links":{"self":"/a/1"}},{"type":"photos","id":"2","attributes":{"title":"P"}}],)"
            R"("included":[{"type":"people","id":"9","attributes":{"name":"N"},"meta":{"m":1}}],)"
            R"("meta":{"total":2},"jsonapi":{"version":"1.1"}})");
}

TEST(Project, FindsTheResourceTypeWhereverItStands) {
  EXPECT_EQ(projected(R"({"data":{"attributes":{"title":"T","body":"B"},"id":"1","type":"a"}})",
                      typedOf({{"a", "title"}})),
            R"({"data":{"attributes":{"title":"T"},"id":"1","type":"a"}})");
  EXPECT_EQ(projected(R"({"data":{"type":"\u0061","id":"1","attributes":{"t":1,"u":2}}})",
                      typedOf({{"a", "u"}})),
            R"({"data":{"type":"\u0061","id":"1","attributes":{"u":2}}})");
}

TEST(Project, PassesObjectsThatAreNotResourcesOfANamedType) {
  const FieldSelection selection = typedOf({{"a", ""}});
  for (const char* json : {R"({"data":{"type":"a","attributes":{"x":1}}})",
                           R"({"data":{"type":1,"id":"1","attributes":{"x":1}}})",
                           R"({"data":[{"type":"b","id":"1", "attributes":{"x":1}},null,3]})",
                           R"({"data":null,"errors":[{"type":"a","id":"1"}]})", R"([{"type":"a"}])",
                           R"({"type":"a","id":"1","attributes":{"x":1}})"}) {
    SCOPED_TRACE(json);
    EXPECT_EQ(projected(json, selection), json);
  }
  EXPECT_EQ(projected(R"({"data":{"type":"a","id":"1","attributes":{"x":1},"relationships":{}}})",
                      selection),
            R"({"data":{"type":"a","id":"1","attributes":{},"relationships":{}}})");
}

}  // namespace
}  // namespace edge::filters::json
