#include "lib/cache/key.h"

#include <gtest/gtest.h>

namespace edge::cache {
namespace {

config::RouteClass apiClass() {
  config::RouteClass c;
  c.name = "api";
  return c;
}

std::string keyFor(std::string_view host, std::string_view target, const http::Headers& headers,
                   const config::RouteClass& c) {
  return buildKey(KeyRequest{host, target, &headers}, c);
}

TEST(CacheKey, QueryOrderAndIgnoredParametersDoNotSplitEntries) {
  http::Headers h;
  auto c = apiClass();
  std::string a = keyFor("api.example.com", "/v1/wo?b=2&a=1&fields=id&utm_source=x", h, c);
  std::string b = keyFor("API.example.com:80", "/v1/wo?a=1&b=2", h, c);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, keyFor("api.example.com", "/v1/wo?a=1&b=3", h, c));
}

TEST(CacheKey, RepeatedParametersKeepTheirRelativeOrder) {
  config::CacheKeyConfig k;
  EXPECT_EQ(normaliseQuery("page=2&page=1", k), "page=2&page=1");
  EXPECT_EQ(normaliseQuery("page=1&page=2", k), "page=1&page=2");
  EXPECT_EQ(normaliseQuery("b=1&a=2&b=0&a=1", k), "a=2&a=1&b=1&b=0");
  http::Headers h;
  auto c = apiClass();
  EXPECT_NE(keyFor("h", "/v1/wo?page=2&page=1", h, c), keyFor("h", "/v1/wo?page=1&page=2", h, c));
}

TEST(CacheKey, IncludeListKeepsOnlyTheNamedParameters) {
  auto c = apiClass();
  c.key.query_mode = config::CacheKeyConfig::QueryMode::IncludeOnly;
  c.key.query_params = {"q", "page"};
  EXPECT_EQ(normaliseQuery("page=2&sort=x&q=pump", c.key), "page=2&q=pump");
}

TEST(CacheKey, PrefixPatternsInTheIgnoreList) {
  config::CacheKeyConfig k;
  EXPECT_EQ(normaliseQuery("utm_medium=a&utm_campaign=b&id=3&gclid=z", k), "id=3");
}

TEST(CacheKey, EncodedDotSegmentsNameTheSameEntryAsThePathTheyResolveTo) {
  http::Headers h;
  auto c = apiClass();
  EXPECT_EQ(keyFor("h", "/static/%2e%2e/api/v1/wo?a=1", h, c), keyFor("h", "/api/v1/wo?a=1", h, c));
}

TEST(CacheKey, TenantHeaderSeparatesTenants) {
  auto c = apiClass();
  c.key.tenant_header = "x-org-id";
  http::Headers org1;
  org1.add("X-Org-Id", "1");
  http::Headers org2;
  org2.add("X-Org-Id", "2");
  EXPECT_NE(keyFor("h", "/wo", org1, c), keyFor("h", "/wo", org2, c));
}

TEST(CacheKey, PerCredentialKeysHoldAHashNeverTheCredential) {
  auto c = apiClass();
  c.key.per_credential = true;
  http::Headers alice;
  alice.add("Authorization", "Bearer alice-secret");
  http::Headers bob;
  bob.add("Authorization", "Bearer bob-secret");
  std::string ka = keyFor("h", "/me", alice, c);
  EXPECT_NE(ka, keyFor("h", "/me", bob, c));
  EXPECT_EQ(ka.find("alice-secret"), std::string::npos);
  EXPECT_EQ(ka, keyFor("h", "/me", alice, c));
}

TEST(CacheKey, SelectedHeadersAreDimensions) {
  auto c = apiClass();
  c.key.headers = {"accept-language"};
  http::Headers en;
  en.add("Accept-Language", "en");
  http::Headers fr;
  fr.add("Accept-Language", "fr");
  EXPECT_NE(keyFor("h", "/x", en, c), keyFor("h", "/x", fr, c));
}

TEST(CacheKey, EveryKeyOfAUrlStartsWithItsUrlPrefix) {
  auto c = apiClass();
  c.key.tenant_header = "x-org-id";
  http::Headers h;
  h.add("X-Org-Id", "42");
  std::string key = keyFor("h", "/wo/7?b=1&a=2", h, c);
  EXPECT_EQ(key.rfind(urlPrefix("h", "/wo/7?a=2&b=1", c), 0), 0u);
}

TEST(CacheKey, GlobEscapeMakesMetacharactersLiteral) {
  EXPECT_EQ(globEscape("a*b?[c]\\"), "a\\*b\\?\\[c\\]\\\\");
}

}  // namespace
}  // namespace edge::cache
