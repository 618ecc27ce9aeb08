#include "lib/json/field_selection.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace edge::filters::json {
namespace {

std::string canonicalOf(std::string_view value) {
  auto parsed = parseFields(value);
  if (auto* error = std::get_if<SelectionError>(&parsed)) {
    ADD_FAILURE() << value << ": " << error->message << " at " << error->position;
    return "<error>";
  }
  return std::get<FieldSelection>(parsed).canonical();
}

SelectionError errorOf(std::string_view value) {
  auto parsed = parseFields(value);
  if (!std::holds_alternative<SelectionError>(parsed)) {
    ADD_FAILURE() << value << " parsed as " << std::get<FieldSelection>(parsed).canonical();
    return {};
  }
  return std::get<SelectionError>(parsed);
}

// ---- syntax ------------------------------------------------------------------------------------

TEST(ParseFields, ReadsEverySyntax) {
  EXPECT_EQ(canonicalOf("id"), "id");
  EXPECT_EQ(canonicalOf("id,title,site.name"), "id,site.name,title");
  EXPECT_EQ(canonicalOf("items(id,title),next"), "items.id,items.title,next");
  EXPECT_EQ(canonicalOf("a(b,c(d))"), "a.b,a.c.d");
  EXPECT_EQ(canonicalOf("a.b(c,d)"), "a.b.c,a.b.d");
  EXPECT_EQ(canonicalOf("*"), "*");
  EXPECT_EQ(canonicalOf("site.*"), "site");
  EXPECT_EQ(canonicalOf("a(*)"), "a");
  EXPECT_EQ(canonicalOf("*,site.name"), "*,site.name");
  EXPECT_EQ(canonicalOf("a.*,a.b.c"), "a.*,a.b.c");
}

TEST(ParseFields, IgnoresSpacesAroundNamesButKeepsThemInside) {
  EXPECT_EQ(canonicalOf(" id , site . name "), "id,site.name");
  EXPECT_EQ(canonicalOf("\ta ( b ,\tc ) , d"), "a.b,a.c,d");
  EXPECT_EQ(canonicalOf("first name"), "first name");
  EXPECT_EQ(canonicalOf(" * "), "*");
}

TEST(ParseFields, TabsAreTrimmedAtBothEndsLikeSpaces) {
  EXPECT_EQ(canonicalOf("id\t"), "id");
  EXPECT_EQ(canonicalOf("\tid"), "id");
  EXPECT_EQ(canonicalOf("id "), "id");
  EXPECT_EQ(canonicalOf("\tsite\t.\tname\t,\tid\t"), "id,site.name");
}

TEST(ParseFields, AcceptsAnyNonSeparatorBytesInNames) {
  EXPECT_EQ(canonicalOf("caf\xc3\xa9,\xe5\x90\x8d\xe5\x89\x8d"),
            "caf\xc3\xa9,\xe5\x90\x8d\xe5\x89\x8d");
  EXPECT_EQ(canonicalOf("$ref,@type,a-b_c,x+y,\"q\",a=b&c"), "\"q\",$ref,@type,a-b_c,a=b&c,x+y");
}

TEST(ParseFields, BuildsATreeWithSortedChildren) {
  auto selection = std::get<FieldSelection>(parseFields("title,site.name,id,site.code"));
  const FieldNode& root = selection.root();
  ASSERT_EQ(root.children.size(), 3u);
  EXPECT_EQ(root.children[0].name, "id");
  EXPECT_EQ(root.children[1].name, "site");
  EXPECT_EQ(root.children[2].name, "title");
  const FieldNode& site = root.children[1].node;
  EXPECT_FALSE(site.whole);
  ASSERT_EQ(site.children.size(), 2u);
  EXPECT_EQ(site.children[1].name, "name");
  EXPECT_TRUE(site.children[1].node.whole);
  EXPECT_FALSE(selection.empty());
  EXPECT_FALSE(selection.typed());
}

// ---- canonical form ----------------------------------------------------------------------------

TEST(ParseFields, GivesEqualSelectionsTheSameCanonicalText) {
  const std::pair<const char*, const char*> equal[] = {
      {"id,title", "title,id"},
      {"id,id,id", "id"},
      {"a,a.b", "a"},
      {"a.b.c,a", "a"},
      {"a.*", "a"},
      {"a(*)", "a"},
      {"a(b,*)", "a"},
      {"*,id,title", "*"},
      {"a(b),a(c)", "a.b,a.c"},
      {"a(b(c)),a.b.d", "a.b(d,c)"},
      {"items(id,title),next", "next,items.title,items.id"},
      {"x.*,x.y.z", "x.y(z),x(*)"},
      {" a , b ", "b,a"},
  };
  for (const auto& [left, right] : equal) {
    SCOPED_TRACE(std::string(left) + " vs " + right);
    EXPECT_EQ(canonicalOf(left), canonicalOf(right));
  }
  EXPECT_NE(canonicalOf("a.b"), canonicalOf("a"));
  EXPECT_NE(canonicalOf("a.*,a.b.c"), canonicalOf("a"));
}

TEST(ParseFields, CanonicalTextParsesBackToItself) {
  for (const char* value : {"id,site(name,code),*", "a.*,a.b.c", "x(y(z(w))),v", "first name"}) {
    SCOPED_TRACE(value);
    const std::string canonical = canonicalOf(value);
    EXPECT_EQ(canonicalOf(canonical), canonical);
  }
}

TEST(FieldSelection, DefaultIsEmpty) {
  FieldSelection selection;
  EXPECT_TRUE(selection.empty());
  EXPECT_EQ(selection.canonical(), "");
}

// ---- errors ------------------------------------------------------------------------------------

struct ErrorCase {
  const char* value;
  size_t position;
  const char* message;
};

TEST(ParseFields, ReportsEveryErrorWithItsPosition) {
  const ErrorCase cases[] = {
      {"", 0, "empty field selection"},
      {"   ", 0, "empty field selection"},
      {"id,,x", 3, "empty field name"},
      {",id", 0, "empty field name"},
      {"id,", 2, "trailing ','"},
      {"id, ", 2, "trailing ','"},
      {"a.", 1, "trailing '.'"},
      {"a.b.", 3, "trailing '.'"},
      {"a..b", 2, "empty field name"},
      {".a", 0, "empty field name"},
      {"a.,b", 2, "empty field name"},
      {"a(b", 1, "unclosed '('"},
      {"a(b(c)", 1, "unclosed '('"},
      {"a(b))", 4, "unbalanced ')'"},
      {"a)", 1, "unbalanced ')'"},
      {"a()", 2, "empty field name"},
      {"(a)", 0, "empty field name"},
      {"a((b))", 2, "empty field name"},
      {"a(b)c", 4, "expected ',' after ')'"},
      {"a(b) c", 5, "expected ',' after ')'"},
      {"a*", 1, "'*' must stand alone as a name"},
      {"*a", 1, "'*' must stand alone as a name"},
      {"* a", 2, "'*' must stand alone as a name"},
      {"*.a", 1, "'*' must end a path"},
      {"a.*.b", 3, "'*' must end a path"},
      {"*(a)", 1, "'*' must end a path"},
      {"a\x01", 1, "control character in field name"},
      {"a\nb", 1, "control character in field name"},
      {"a\x7f", 1, "control character in field name"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.value);
    const SelectionError error = errorOf(c.value);
    EXPECT_EQ(error.position, c.position);
    EXPECT_EQ(error.message, c.message);
  }
}

TEST(ParseFields, RejectsSelectionsNestedTooDeep) {
  std::string deep = "a";
  for (size_t i = 1; i < kMaxSelectionDepth; ++i) {
    deep += ".a";
  }
  EXPECT_EQ(canonicalOf(deep), deep);
  const SelectionError dotted = errorOf(deep + ".b");
  EXPECT_EQ(dotted.position, deep.size() + 1);
  EXPECT_EQ(dotted.message, "selection nested deeper than 64 levels");

  // Parentheses count the same, and a hostile value cannot recurse the parser without bound.
  std::string grouped;
  for (size_t i = 0; i < 100000; ++i) {
    grouped += "a(";
  }
  EXPECT_EQ(errorOf(grouped).position, 2 * kMaxSelectionDepth);
}

// ---- JSON:API ----------------------------------------------------------------------------------

TEST(ParseTypedFields, KeepsOneMemberSetPerType) {
  auto parsed = parseTypedFields({{"people", "name"}, {"articles", "title, body"}});
  const auto& selection = std::get<FieldSelection>(parsed);
  EXPECT_TRUE(selection.typed());
  EXPECT_FALSE(selection.empty());
  EXPECT_EQ(selection.canonical(), "fields[articles]=body,title&fields[people]=name");
  ASSERT_NE(selection.fieldsFor("articles"), nullptr);
  ASSERT_EQ(selection.fieldsFor("articles")->members.children.size(), 2u);
  EXPECT_EQ(selection.fieldsFor("articles")->members.children[1].name, "title");
  EXPECT_EQ(selection.fieldsFor("comments"), nullptr);
}

TEST(ParseTypedFields, MergesRepeatsAndReadsEmptyAndWildcardValues) {
  auto merged = parseTypedFields({{"a", "x"}, {"a", "y,x"}, {"b", ""}, {"c", "*"}});
  const auto& selection = std::get<FieldSelection>(merged);
  EXPECT_EQ(selection.canonical(), "fields[a]=x,y&fields[b]=");
  EXPECT_EQ(selection.fieldsFor("c"), nullptr);  // `*` keeps all: as if not named
  ASSERT_NE(selection.fieldsFor("b"), nullptr);
  EXPECT_TRUE(selection.fieldsFor("b")->members.children.empty());

  auto all = parseTypedFields({{"a", "*"}});
  EXPECT_TRUE(std::get<FieldSelection>(all).empty());
}

TEST(ParseTypedFields, EscapesSeparatorsOfNamesInCanonicalText) {
  auto parsed = parseTypedFields({{"a", "x&fields[b]=y"}});
  EXPECT_EQ(std::get<FieldSelection>(parsed).canonical(), "fields[a]=x%26fields[b]=y");
}

TEST(ParseTypedFields, RejectsPathsAndBadTypes) {
  auto dotted = parseTypedFields({{"a", "x,y.z"}});
  ASSERT_TRUE(std::holds_alternative<SelectionError>(dotted));
  EXPECT_EQ(std::get<SelectionError>(dotted).position, 3u);
  auto grouped = parseTypedFields({{"a", "x(y)"}});
  EXPECT_EQ(std::get<SelectionError>(grouped).position, 1u);
  for (const char* type : {"", "a]b", "a[b", "a=b", "a&b", "a\x01"}) {
    SCOPED_TRACE(type);
    auto parsed = parseTypedFields({{type, "x"}});
    ASSERT_TRUE(std::holds_alternative<SelectionError>(parsed));
    EXPECT_EQ(std::get<SelectionError>(parsed).position, 0u);
  }
  auto empty_name = parseTypedFields({{"a", "x,,y"}});
  EXPECT_EQ(std::get<SelectionError>(empty_name).position, 2u);
}

}  // namespace
}  // namespace edge::filters::json
