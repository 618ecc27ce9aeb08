#include <gtest/gtest.h>

#include "lib/json/field_selection.h"

namespace edge::filters::json {
namespace {

TEST(SelectionFromQuery, IsAbsentWithoutFieldsParameters) {
  for (const char* query : {"", "page=2", "fieldset=a", "field=a&x=1", "fields2=a", "fields[]=a",
                            "&&", "fields%zz=a"}) {
    SCOPED_TRACE(query);
    const QuerySelection result = selectionFromQuery(query);
    EXPECT_FALSE(result.present);
    EXPECT_FALSE(result.error);
  }
}

TEST(SelectionFromQuery, DecodesAndParsesThePlainParameter) {
  const QuerySelection result =
      selectionFromQuery("page=2&fields=id%2Cnumber,title,status,site.name&sort=-id");
  ASSERT_TRUE(result.present);
  ASSERT_FALSE(result.error);
  EXPECT_EQ(result.selection.canonical(), "id,number,site.name,status,title");
}

TEST(SelectionFromQuery, KeepsPlusAsAPlus) {
  const QuerySelection result = selectionFromQuery("fields=a+b,c%20d");
  EXPECT_EQ(result.selection.canonical(), "a+b,c d");
}

TEST(SelectionFromQuery, EncodedWhiteSpaceIsTrimmedAtEitherEnd) {
  for (const char* query : {"fields=id%09", "fields=%09id", "fields=id%20", "fields=%20id%09"}) {
    SCOPED_TRACE(query);
    const QuerySelection result = selectionFromQuery(query);
    ASSERT_TRUE(result.present);
    ASSERT_FALSE(result.error) << result.error->message;
    EXPECT_EQ(result.selection.canonical(), "id");
  }
}

TEST(SelectionFromQuery, MergesRepeatedPlainParameters) {
  const QuerySelection result = selectionFromQuery("fields=title&x=1&fields=id,site(name)");
  EXPECT_EQ(result.selection.canonical(), "id,site.name,title");
}

TEST(SelectionFromQuery, ReadsTypedParametersWithEncodedBrackets) {
  const QuerySelection result =
      selectionFromQuery("include=author&fields%5Barticles%5D=title,body&fields[people]=name");
  ASSERT_TRUE(result.present);
  ASSERT_FALSE(result.error);
  EXPECT_TRUE(result.selection.typed());
  EXPECT_EQ(result.selection.canonical(), "fields[articles]=body,title&fields[people]=name");
}

TEST(SelectionFromQuery, AnEmptyTypedValueKeepsNoMembers) {
  const QuerySelection result = selectionFromQuery("fields[people]=");
  ASSERT_FALSE(result.error);
  EXPECT_EQ(result.selection.canonical(), "fields[people]=");
}

TEST(SelectionFromQuery, PositionsErrorsInTheEncodedValue) {
  const QuerySelection result = selectionFromQuery("a=1&fields=id%2C%2Cx");
  ASSERT_TRUE(result.present);
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.param, "fields");
  EXPECT_EQ(result.error->position, 5u);  // the second %2C
  EXPECT_EQ(result.error->message, "empty field name");

  const QuerySelection trailing = selectionFromQuery("fields=a.");
  EXPECT_EQ(trailing.error->position, 1u);
}

TEST(SelectionFromQuery, NamesTheFaultyParameterAmongSeveral) {
  const QuerySelection result = selectionFromQuery("fields=id&fields=a(b");
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.param, "fields");
  EXPECT_EQ(result.error->position, 1u);
  EXPECT_EQ(result.error->message, "unclosed '('");

  const QuerySelection typed = selectionFromQuery("fields[a]=x&fields%5Bb%5D=y.z");
  ASSERT_TRUE(typed.error);
  EXPECT_EQ(typed.param, "fields[b]");
  EXPECT_EQ(typed.error->position, 1u);
}

TEST(SelectionFromQuery, RejectsBadPercentEncoding) {
  for (const char* query : {"fields=a%2", "fields=a%zz", "fields=a%"}) {
    SCOPED_TRACE(query);
    const QuerySelection result = selectionFromQuery(query);
    ASSERT_TRUE(result.error);
    EXPECT_EQ(result.param, "fields");
    EXPECT_EQ(result.error->position, 1u);
    EXPECT_EQ(result.error->message, "invalid percent-encoding");
  }
}

TEST(SelectionFromQuery, RejectsAnEmptyPlainValue) {
  for (const char* query : {"fields=", "fields"}) {
    SCOPED_TRACE(query);
    const QuerySelection result = selectionFromQuery(query);
    ASSERT_TRUE(result.error);
    EXPECT_EQ(result.error->message, "empty field selection");
  }
}

TEST(SelectionFromQuery, RejectsMixingPlainAndTypedParameters) {
  const QuerySelection result = selectionFromQuery("fields[a]=x&fields=id");
  ASSERT_TRUE(result.error);
  EXPECT_EQ(result.param, "fields");
  EXPECT_EQ(result.error->position, 0u);
}

}  // namespace
}  // namespace edge::filters::json
