#include "filters/conditional/etag.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace edge::filters {
namespace {

// ---- parsing and comparison --------------------------------------------------------------------

TEST(ParseEntityTag, ReadsStrongAndWeakTags) {
  EXPECT_EQ(parseEntityTag("\"abc\""), (EntityTag{false, "abc"}));
  EXPECT_EQ(parseEntityTag("W/\"abc\""), (EntityTag{true, "abc"}));
  EXPECT_EQ(parseEntityTag(" \"\" "), (EntityTag{false, ""}));
  EXPECT_EQ(parseEntityTag("\"a,b/c\""), (EntityTag{false, "a,b/c"}));
  EXPECT_EQ(parseEntityTag("\"caf\xc3\xa9\""), (EntityTag{false, "caf\xc3\xa9"}));
}

TEST(ParseEntityTag, RejectsJunk) {
  for (const char* junk : {"", "abc", "\"abc", "abc\"", "w/\"abc\"", "W/abc", "W/", "\"a\"b\"",
                           "\"a\" x", "\"a b\"", "\"a\tb\"", "\"a\x7f\"", "\"a\", \"b\"", "*"}) {
    SCOPED_TRACE(junk);
    EXPECT_EQ(parseEntityTag(junk), std::nullopt);
  }
}

TEST(FormatEntityTag, RoundTripsThroughParse) {
  for (const char* text : {"\"abc\"", "W/\"abc\"", "\"\"", "W/\"x-ep-gz\""}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(formatEntityTag(*parseEntityTag(text)), text);
  }
}

struct ComparisonCase {
  const char* a;
  const char* b;
  bool weak;
};

TEST(EntityTagComparison, FollowsTheTableOfRfc9110) {
  const std::vector<ComparisonCase> cases = {
      {"W/\"1\"", "W/\"1\"", true},
      {"W/\"1\"", "W/\"2\"", false},
      {"W/\"1\"", "\"1\"", true},
      {"\"1\"", "\"1\"", true},
  };
  for (const ComparisonCase& c : cases) {
    SCOPED_TRACE(std::string(c.a) + " vs " + c.b);
    const EntityTag a = *parseEntityTag(c.a);
    const EntityTag b = *parseEntityTag(c.b);
    EXPECT_EQ(weakCompare(a, b), c.weak);
    EXPECT_EQ(weakCompare(b, a), c.weak);
  }
}

TEST(ParseEntityTagList, ReadsListsWithSpacesAndEmptyElements) {
  const auto tags = parseEntityTagList(" \"a\" ,W/\"b\",\t, \"c,d\" ,");
  ASSERT_TRUE(tags);
  EXPECT_EQ(*tags, (std::vector<EntityTag>{{false, "a"}, {true, "b"}, {false, "c,d"}}));
  EXPECT_EQ(parseEntityTagList(""), std::vector<EntityTag>{});
}

TEST(ParseEntityTagList, RejectsAListWithAnyMalformedElement) {
  for (const char* junk : {"\"a\" \"b\"", "\"a\", b", "\"a\", \"b", "*", "\"a\", *"}) {
    SCOPED_TRACE(junk);
    EXPECT_EQ(parseEntityTagList(junk), std::nullopt);
  }
}

struct IfNoneMatchCase {
  const char* if_none_match;
  const char* current;
  bool matches;
};

TEST(IfNoneMatchMatches, UsesWeakComparisonOverTheWholeList) {
  const std::vector<IfNoneMatchCase> cases = {
      {"\"a\"", "\"a\"", true},
      {"W/\"a\"", "\"a\"", true},
      {"\"a\"", "W/\"a\"", true},
      {"\"b\"", "\"a\"", false},
      {"\"x\", \"y\" , W/\"a\"", "\"a\"", true},
      {"\"x\",\"y\"", "\"a\"", false},
      {"*", "\"a\"", true},
      {" * ", "", true},
      {"\"a\", junk", "\"a\"", false},
      {"\"a", "\"a\"", false},
      {"", "\"a\"", false},
      {"\"a\"", "a", false},
      {"\"a\"", "", false},
  };
  for (const IfNoneMatchCase& c : cases) {
    SCOPED_TRACE(std::string(c.if_none_match) + " vs " + c.current);
    EXPECT_EQ(ifNoneMatchMatches(c.if_none_match, c.current), c.matches);
  }
}

// ---- variants ----------------------------------------------------------------------------------

TEST(VariantTag, AppendsTheCodingSuffixInsideTheQuotesAndKeepsStrength) {
  EXPECT_EQ(variantTag("\"abc\"", Coding::Brotli), "\"abc-ep-br\"");
  EXPECT_EQ(variantTag("\"abc\"", Coding::Gzip), "\"abc-ep-gz\"");
  EXPECT_EQ(variantTag("W/\"abc\"", Coding::Gzip), "W/\"abc-ep-gz\"");
  EXPECT_EQ(variantTag("W/\"abc\"", Coding::Brotli), "W/\"abc-ep-br\"");
}

TEST(VariantTag, LeavesIdentityAndUnparseableTagsUnchanged) {
  EXPECT_EQ(variantTag("\"abc\"", Coding::Identity), "\"abc\"");
  EXPECT_EQ(variantTag("W/\"abc\"", Coding::Identity), "W/\"abc\"");
  EXPECT_EQ(variantTag("abc", Coding::Gzip), "abc");
  EXPECT_EQ(variantTag("", Coding::Brotli), "");
}

TEST(BaseTag, UndoesVariantTagForEveryCodingAndStrength) {
  for (const char* base : {"\"abc\"", "W/\"abc\"", "\"\"", "\"v-gz\"", "\"v-br\""}) {
    for (Coding coding : {Coding::Identity, Coding::Gzip, Coding::Brotli}) {
      SCOPED_TRACE(std::string(base) + " " + std::string(codingToken(coding)));
      EXPECT_EQ(baseTag(variantTag(base, coding)), base);
    }
  }
}

TEST(BaseTag, StripsOnlyOneSuffixAndLeavesOtherTagsAlone) {
  EXPECT_EQ(baseTag("\"a-ep-gz-ep-br\""), "\"a-ep-gz\"");
  EXPECT_EQ(baseTag("\"a-gz\""), "\"a-gz\"");
  EXPECT_EQ(baseTag("\"a-ep-gz-x\""), "\"a-ep-gz-x\"");
  EXPECT_EQ(baseTag("junk-ep-gz"), "junk-ep-gz");
}

TEST(BaseTag, CannotTellAnOriginTagWithOurSuffixFromOurVariant) {
  // The documented ambiguity: an origin's own "v-ep-gz" reads as the gzip variant of "v".
  EXPECT_EQ(baseTag("\"v-ep-gz\""), "\"v\"");
  // The common origin spelling "-gz" does not collide.
  EXPECT_EQ(baseTag(variantTag("\"v-gz\"", Coding::Gzip)), "\"v-gz\"");
}

TEST(ConditionMatchesVariant, MatchesOnlyTheVariantBeingSent) {
  const char* base = "\"abc\"";
  EXPECT_TRUE(conditionMatchesVariant("\"abc-ep-br\"", base, Coding::Brotli));
  EXPECT_TRUE(conditionMatchesVariant("\"abc-ep-gz\"", base, Coding::Gzip));
  EXPECT_TRUE(conditionMatchesVariant("\"abc\"", base, Coding::Identity));
  EXPECT_FALSE(conditionMatchesVariant("\"abc-ep-gz\"", base, Coding::Brotli));
  EXPECT_FALSE(conditionMatchesVariant("\"abc-ep-br\"", base, Coding::Identity));
  EXPECT_FALSE(conditionMatchesVariant("\"abc\"", base, Coding::Gzip));
}

TEST(ConditionMatchesVariant, ComparesWeaklyAndAcceptsAnyTagOfTheList) {
  EXPECT_TRUE(conditionMatchesVariant("W/\"abc-ep-gz\"", "\"abc\"", Coding::Gzip));
  EXPECT_TRUE(conditionMatchesVariant("\"abc-ep-gz\"", "W/\"abc\"", Coding::Gzip));
  EXPECT_TRUE(conditionMatchesVariant("\"zzz\", \"abc-ep-br\"", "\"abc\"", Coding::Brotli));
  EXPECT_TRUE(conditionMatchesVariant("*", "\"abc\"", Coding::Gzip));
  EXPECT_FALSE(conditionMatchesVariant("\"abc-ep-br\", junk", "\"abc\"", Coding::Brotli));
}

TEST(StripVariantSuffixes, RemovesOurSuffixesForTheOrigin) {
  EXPECT_EQ(stripVariantSuffixes("\"a-ep-gz\", W/\"b-ep-br\""), "\"a\", W/\"b\"");
  EXPECT_EQ(stripVariantSuffixes("\"a\""), "\"a\"");
  EXPECT_EQ(stripVariantSuffixes("  \"a-gz\" ,\"b\"  "), "\"a-gz\", \"b\"");
}

TEST(StripVariantSuffixes, DropsTheDuplicatesItCreates) {
  EXPECT_EQ(stripVariantSuffixes("\"a-ep-gz\", \"a-ep-br\", \"a\", W/\"a-ep-gz\""),
            "\"a\", W/\"a\"");
}

TEST(StripVariantSuffixes, PassesWildcardsAndMalformedValuesThrough) {
  EXPECT_EQ(stripVariantSuffixes("*"), "*");
  EXPECT_EQ(stripVariantSuffixes("\"a-ep-gz\", junk"), "\"a-ep-gz\", junk");
}

// ---- generated tags ----------------------------------------------------------------------------

TEST(GenerateEtag, IsAStrongQuotedTagOf22Base64UrlCharacters) {
  const std::string tag = generateEtag("hello");
  const std::optional<EntityTag> parsed = parseEntityTag(tag);
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->weak);
  ASSERT_EQ(parsed->opaque.size(), 22u);
  EXPECT_EQ(parsed->opaque.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
            std::string::npos);
}

TEST(GenerateEtag, EncodesTheFirst128BitsOfSha256) {
  // SHA-256("") = e3b0c442 98fc1c14 9afbf4c8 996fb924 ...; base64url of the first 16 bytes.
  EXPECT_EQ(generateEtag(""), "\"47DEQpj8HBSa-_TImW-5JA\"");
}

TEST(GenerateEtag, IsStableAndDiffersBetweenBodies) {
  EXPECT_EQ(generateEtag("{\"a\":1}"), generateEtag("{\"a\":1}"));
  std::set<std::string> tags;
  for (const char* body : {"", "a", "b", "ab", "ba", "{\"a\":1}", "{\"a\":2}"}) {
    tags.insert(generateEtag(body));
  }
  EXPECT_EQ(tags.size(), 7u);
}

// ---- If-Modified-Since -------------------------------------------------------------------------

struct SinceCase {
  const char* if_modified_since;
  const char* last_modified;
  bool not_modified;
};

TEST(ProjectionTag, AddsAHashOfTheFieldSetInsideTheQuotesKeepingStrength) {
  const std::string strong = projectionTag("\"abc\"", "id,title");
  EXPECT_EQ(strong.size(), std::string("\"abc-f\"").size() + 12) << strong;
  EXPECT_TRUE(strong.starts_with("\"abc-f")) << strong;
  const std::string weak = projectionTag("W/\"abc\"", "id,title");
  EXPECT_EQ(weak, "W/" + strong);
  EXPECT_EQ(projectionTag("\"abc\"", "id,title"), strong);
  EXPECT_NE(projectionTag("\"abc\"", "id,status"), strong);
  EXPECT_NE(projectionTag("\"abd\"", "id,title"), strong);
  EXPECT_EQ(projectionTag("abc", "id"), "");
  // Encoded variants of a projection still strip back to the projection's tag.
  EXPECT_EQ(baseTag(variantTag(strong, Coding::Gzip)), strong);
}

TEST(NotModifiedSince, ComparesTheDatesAndRejectsInvalidOnes) {
  const char* date = "Sun, 06 Nov 1994 08:49:37 GMT";
  const std::vector<SinceCase> cases = {
      {date, date, true},
      {date, "Sun, 06 Nov 1994 08:49:36 GMT", true},
      {date, "Sun, 06 Nov 1994 08:49:38 GMT", false},
      {"Sunday, 06-Nov-94 08:49:37 GMT", date, true},
      {"Sun Nov  6 08:49:37 1994", date, true},
      {"Mon, 07 Nov 1994 00:00:00 GMT", date, true},
      {"not a date", date, false},
      {date, "not a date", false},
      {"", date, false},
      {date, "", false},
      {"Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 00:00:00 GMT", date, false},
  };
  for (const SinceCase& c : cases) {
    SCOPED_TRACE(std::string(c.if_modified_since) + " / " + c.last_modified);
    EXPECT_EQ(notModifiedSince(c.if_modified_since, c.last_modified), c.not_modified);
  }
}

// ---- 304 headers -------------------------------------------------------------------------------

TEST(NotModifiedHeaders, KeepsTheValidatorAndCachingHeadersInOrder) {
  http::Headers full;
  full.add("Content-Type", "application/json");
  full.add("Date", "Sun, 06 Nov 1994 08:49:37 GMT");
  full.add("Content-Length", "1234");
  full.add("ETag", "\"abc\"");
  full.add("cache-control", "max-age=60");
  full.add("Cache-Control", "public");
  full.add("Content-Encoding", "gzip");
  full.add("Vary", "Accept-Encoding");
  full.add("Expires", "Sun, 06 Nov 1994 08:50:37 GMT");
  full.add("Content-Location", "/a.json");
  full.add("Last-Modified", "Sat, 05 Nov 1994 08:49:37 GMT");
  full.add("Set-Cookie", "a=b");
  full.add("X-Cache", "HIT");

  const http::Headers kept = notModifiedHeaders(full);
  std::vector<std::string> names;
  for (const http::Header& h : kept) {
    names.push_back(h.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Date", "ETag", "cache-control", "Cache-Control",
                                             "Vary", "Expires", "Content-Location",
                                             "Last-Modified"}));
  EXPECT_EQ(kept.joined("cache-control"), "max-age=60, public");
  EXPECT_EQ(*kept.find("etag"), "\"abc\"");
}

TEST(NotModifiedHeaders, IsEmptyForAResponseWithoutAnyOfThem) {
  http::Headers full;
  full.add("Content-Type", "text/plain");
  EXPECT_TRUE(notModifiedHeaders(full).empty());
}

}  // namespace
}  // namespace edge::filters
