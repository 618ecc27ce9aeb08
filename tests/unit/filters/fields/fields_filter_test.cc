// The glue between field selections and responses: which query parameters carry a selection,
// projection entries (key, validity, ETag) and the projection of a body held back in full.
#include "filters/fields/fields_filter.h"

#include <gtest/gtest.h>

#include <variant>

#include "filters/conditional/etag.h"

namespace edge::filters {
namespace {

json::FieldSelection selection(std::string_view text) {
  auto parsed = json::parseFields(text);
  EXPECT_TRUE(std::holds_alternative<json::FieldSelection>(parsed)) << text;
  return std::get<json::FieldSelection>(std::move(parsed));
}

std::shared_ptr<cache::CachedEntry> jsonEntry(std::string body) {
  auto entry = std::make_shared<cache::CachedEntry>();
  entry->key = "example.com/api/v1/sites";
  entry->headers.add("Content-Type", "application/json");
  entry->headers.add("ETag", "\"base\"");
  entry->headers.add("Cache-Control", "max-age=60");
  entry->body = std::make_shared<const std::string>(std::move(body));
  entry->response_time_ms = 1000;
  entry->tags = {"sites"};
  entry->vary_values = {{"accept-language", "fr"}};
  return entry;
}

TEST(WithoutFieldParams, RemovesEveryFormOfTheParameterAndKeepsTheRest) {
  EXPECT_EQ(withoutFieldParams("/a?fields=id"), "/a");
  EXPECT_EQ(withoutFieldParams("/a?x=1&fields=id&y=2"), "/a?x=1&y=2");
  EXPECT_EQ(withoutFieldParams("/a?fields[sites]=name&fields%5Bpeople%5D=x&z"), "/a?z");
  EXPECT_EQ(withoutFieldParams("/a?fieldsx=1&myfields=2"), "/a?fieldsx=1&myfields=2");
  EXPECT_EQ(withoutFieldParams("/a"), "/a");
  EXPECT_EQ(withoutFieldParams("/a?"), "/a");
}

TEST(ProjectionKey, DependsOnTheCanonicalSelectionOnly) {
  EXPECT_EQ(projectionKey("k", selection("title,id")), projectionKey("k", selection("id,title")));
  EXPECT_NE(projectionKey("k", selection("id")), projectionKey("k", selection("title")));
  EXPECT_TRUE(projectionKey("k", selection("id")).starts_with("k"));
}

TEST(ProjectEntry, CutsTheBodyAndDerivesTheTagKeepingTheRest) {
  auto base = jsonEntry(R"({"data":[{"id":1,"name":"Lyon","tz":"CET"}],"meta":{"n":1}})");
  const json::FieldSelection fields = selection("name");
  auto projected = projectEntry(*base, fields, {}, projectionKey(base->key, fields));
  ASSERT_NE(projected, nullptr);
  EXPECT_EQ(*projected->body, R"({"data":[{"name":"Lyon"}],"meta":{"n":1}})");
  EXPECT_EQ(*projected->headers.find("etag"), projectionTag("\"base\"", fields.canonical()));
  EXPECT_EQ(*projected->headers.find("cache-control"), "max-age=60");
  EXPECT_EQ(projected->tags, base->tags);
  EXPECT_EQ(projected->vary_values, base->vary_values);
  EXPECT_NE(projected->wire_headers.find("ETag: " + *projected->headers.find("etag")),
            std::string::npos);
  EXPECT_TRUE(isProjectionOf(*projected, *base));
}

TEST(ProjectEntry, IsValidOnlyForTheRepresentationItWasCutFrom) {
  auto base = jsonEntry(R"([{"id":1}])");
  auto projected = projectEntry(*base, selection("id"), {}, "k");
  ASSERT_NE(projected, nullptr);
  auto revalidated = cache::cloneEntry(*base);  // same body, new response time
  revalidated->response_time_ms = 2000;
  EXPECT_FALSE(isProjectionOf(*projected, *revalidated));
  auto replaced = jsonEntry(R"([{"id":1}])");  // equal bytes, another body
  EXPECT_FALSE(isProjectionOf(*projected, *replaced));
  base.reset();
  revalidated.reset();
  EXPECT_FALSE(isProjectionOf(*projected, *replaced));
}

TEST(ProjectEntry, RefusesInvalidJson) {
  auto base = jsonEntry(R"({"data":[{"id":1},)");
  EXPECT_EQ(projectEntry(*base, selection("id"), {}, "k"), nullptr);
}

TEST(ProjectBody, ProjectsAndTagsFromTheOriginTagOrTheFullBody) {
  http::Headers headers;
  headers.add("ETag", "W/\"v1\"");
  std::string body = R"({"id":1,"x":2})";
  ASSERT_TRUE(projectBody(headers, body, selection("id"), {}));
  EXPECT_EQ(body, R"({"id":1})");
  EXPECT_EQ(*headers.find("etag"), projectionTag("W/\"v1\"", "id"));

  http::Headers untagged;
  std::string full = R"({"id":1,"x":2})";
  const std::string base_tag = generateEtag(full);
  ASSERT_TRUE(projectBody(untagged, full, selection("x"), {}));
  EXPECT_EQ(*untagged.find("etag"), projectionTag(base_tag, "x"));

  http::Headers unchanged;
  std::string invalid = "{\"id\":";
  EXPECT_FALSE(projectBody(unchanged, invalid, selection("id"), {}));
  EXPECT_EQ(invalid, "{\"id\":");
  EXPECT_EQ(unchanged.find("etag"), nullptr);
}

}  // namespace
}  // namespace edge::filters
