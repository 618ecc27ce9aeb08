// classifyRequest and decideStore.
#include "lib/cache/policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/lib/cache/policy_test_support.h"

namespace edge::cache {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

http::Headers toHeaders(const Fields& fields) {
  http::Headers headers;
  for (const auto& [name, value] : fields) {
    headers.add(name, value);
  }
  return headers;
}

// ---- classifyRequest -------------------------------------------------------------------------

TEST(ClassifyRequest, OnlyGetAndHeadAreLookedUp) {
  const config::RouteClass route_class;
  for (const char* method : {"GET", "HEAD"}) {
    EXPECT_EQ(classifyRequest(method, {}, route_class).disposition, RequestDisposition::Lookup);
  }
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get"}) {
    SCOPED_TRACE(method);
    const RequestPolicy policy = classifyRequest(method, {}, route_class);
    EXPECT_EQ(policy.disposition, RequestDisposition::Bypass);
    EXPECT_STREQ(policy.reason, "method");
  }
}

TEST(ClassifyRequest, AClassWithCachingOffBypasses) {
  config::RouteClass route_class;
  route_class.cache = false;
  const RequestPolicy policy = classifyRequest("GET", {}, route_class);
  EXPECT_EQ(policy.disposition, RequestDisposition::Bypass);
  EXPECT_STREQ(policy.reason, "class");
}

TEST(ClassifyRequest, CredentialsWithoutAScopedKeyAreLookedUpAsUnscoped) {
  const config::RouteClass route_class;
  for (const char* header : {"Authorization", "Cookie"}) {
    SCOPED_TRACE(header);
    const RequestPolicy policy = classifyRequest("GET", headersOf({{header, "x"}}), route_class);
    EXPECT_EQ(policy.disposition, RequestDisposition::Lookup);
    EXPECT_TRUE(policy.credentialed_unscoped);
  }
  EXPECT_FALSE(classifyRequest("GET", {}, route_class).credentialed_unscoped);
}

TEST(ClassifyRequest, APerCredentialKeyScopesCredentialedRequests) {
  config::RouteClass route_class;
  route_class.key.per_credential = true;
  const RequestPolicy policy =
      classifyRequest("GET", headersOf({{"Authorization", "Bearer t"}}), route_class);
  EXPECT_EQ(policy.disposition, RequestDisposition::Lookup);
  EXPECT_FALSE(policy.credentialed_unscoped);
}

TEST(ClassifyRequest, ATenantHeaderScopesCredentialedRequestsThatCarryIt) {
  config::RouteClass route_class;
  route_class.key.tenant_header = "x-org-id";
  const RequestPolicy policy = classifyRequest(
      "GET", headersOf({{"Cookie", "s=1"}, {"X-Org-Id", "42"}}), route_class);
  EXPECT_EQ(policy.disposition, RequestDisposition::Lookup);
  EXPECT_FALSE(policy.credentialed_unscoped);
}

TEST(ClassifyRequest, CredentialsWithoutTheTenantHeaderBypass) {
  config::RouteClass route_class;
  route_class.key.tenant_header = "x-org-id";
  for (const Fields& fields : {Fields{{"Cookie", "s=1"}},
                               Fields{{"Authorization", "t"}, {"X-Org-Id", "  "}}}) {
    const RequestPolicy policy = classifyRequest("GET", toHeaders(fields), route_class);
    EXPECT_EQ(policy.disposition, RequestDisposition::Bypass);
    EXPECT_STREQ(policy.reason, "tenant");
  }
}

TEST(ClassifyRequest, AnonymousRequestsWithoutTheTenantHeaderAreLookedUp) {
  config::RouteClass route_class;
  route_class.key.tenant_header = "x-org-id";
  EXPECT_EQ(classifyRequest("GET", {}, route_class).disposition, RequestDisposition::Lookup);
}

TEST(ClassifyRequest, APerCredentialKeyNeedsNoTenantHeader) {
  config::RouteClass route_class;
  route_class.key.per_credential = true;
  route_class.key.tenant_header = "x-org-id";
  const RequestPolicy policy =
      classifyRequest("GET", headersOf({{"Authorization", "t"}}), route_class);
  EXPECT_EQ(policy.disposition, RequestDisposition::Lookup);
  EXPECT_FALSE(policy.credentialed_unscoped);
}

TEST(ClassifyRequest, RequestNoStoreIsStillLookedUpAndReported) {
  const RequestPolicy policy =
      classifyRequest("GET", headersOf({{"Cache-Control", "no-store"}}), config::RouteClass{});
  EXPECT_EQ(policy.disposition, RequestDisposition::Lookup);
  EXPECT_TRUE(policy.cc.no_store);
}

TEST(ClassifyRequest, PragmaNoCacheCountsOnlyWithoutCacheControl) {
  const config::RouteClass route_class;
  EXPECT_TRUE(
      classifyRequest("GET", headersOf({{"Pragma", "no-cache"}}), route_class).cc.no_cache);
  const RequestPolicy with_cc = classifyRequest(
      "GET", headersOf({{"Pragma", "no-cache"}, {"Cache-Control", "max-age=5"}}), route_class);
  EXPECT_FALSE(with_cc.cc.no_cache);
  EXPECT_EQ(with_cc.cc.max_age, 5);
}

TEST(ClassifyRequest, CacheControlLinesAreCombined) {
  const RequestPolicy policy = classifyRequest(
      "GET", headersOf({{"Cache-Control", "max-age=5"}, {"cache-control", "min-fresh=2"}}),
      config::RouteClass{});
  EXPECT_EQ(policy.cc.max_age, 5);
  EXPECT_EQ(policy.cc.min_fresh, 2);
}

// ---- decideStore -----------------------------------------------------------------------------

struct StoreCase {
  const char* name;
  int status;
  Fields headers;
  bool store;
  const char* reason;
};

void expectDecisions(const std::vector<StoreCase>& cases, const config::RouteClass& route_class,
                     bool credentialed_unscoped = false) {
  for (const StoreCase& c : cases) {
    SCOPED_TRACE(c.name);
    const http::Headers headers = toHeaders(c.headers);
    ResponseFacts facts;
    facts.status = c.status;
    facts.headers = &headers;
    facts.request_credentialed_unscoped = credentialed_unscoped;
    const StoreDecision decision = decideStore(facts, route_class, kT);
    EXPECT_EQ(decision.store, c.store);
    EXPECT_STREQ(decision.reason, c.reason);
  }
}

TEST(DecideStore, RefusesWhatASharedCacheMustNotKeep) {
  const std::string date = kTDate;
  expectDecisions(
      {
          {"max-age", 200, {{"Cache-Control", "max-age=60"}}, true, ""},
          {"listed 404", 404, {{"Cache-Control", "max-age=60"}}, true, ""},
          {"unlisted status", 500, {{"Cache-Control", "max-age=60"}}, false, "status"},
          {"partial content", 206, {{"Cache-Control", "max-age=60"}}, false, "status"},
          {"no-store", 200, {{"Cache-Control", "max-age=60, no-store"}}, false, "no-store"},
          {"private", 200, {{"Cache-Control", "private, max-age=60"}}, false, "private"},
          {"qualified private", 200, {{"Cache-Control", "max-age=6, private=\"X\""}}, false,
           "private"},
          {"set-cookie", 200, {{"Cache-Control", "max-age=6"}, {"Set-Cookie", "a=1"}}, false,
           "set-cookie"},
          {"vary allowed", 200, {{"Cache-Control", "max-age=6"}, {"Vary", "Accept-Encoding"}},
           true, ""},
          {"vary cookie", 200, {{"Cache-Control", "max-age=6"}, {"Vary", "Cookie"}}, false,
           "vary"},
          {"vary star", 200, {{"Cache-Control", "max-age=6"}, {"Vary", "*"}}, false, "vary"},
          {"too large", 200, {{"Cache-Control", "max-age=6"}, {"Content-Length", "9999999999"}},
           false, "size"},
          {"fits", 200, {{"Cache-Control", "max-age=6"}, {"Content-Length", "100"}}, true, ""},
          {"unreadable length", 200, {{"Cache-Control", "max-age=6"}, {"Content-Length", "x"}},
           true, ""},
      },
      config::RouteClass{});
}

TEST(DecideStore, SetCookieIsStoredWhenTheClassAllowsIt) {
  config::RouteClass route_class;
  route_class.store_set_cookie = true;
  expectDecisions({{"set-cookie", 200, {{"Cache-Control", "max-age=6"}, {"Set-Cookie", "a=1"}},
                    true, ""}},
                  route_class);
}

TEST(DecideStore, AClassWithCachingOffStoresNothing) {
  config::RouteClass route_class;
  route_class.cache = false;
  expectDecisions({{"off", 200, {{"Cache-Control", "max-age=60"}}, false, "class"}}, route_class);
}

TEST(DecideStore, RequestNoStoreKeepsTheResponseOut) {
  const http::Headers headers = headersOf({{"Cache-Control", "max-age=60"}});
  ResponseFacts facts;
  facts.headers = &headers;
  facts.request_no_store = true;
  const StoreDecision decision = decideStore(facts, config::RouteClass{}, kT);
  EXPECT_FALSE(decision.store);
  EXPECT_STREQ(decision.reason, "no-store");
}

TEST(DecideStore, UnscopedCredentialedAnswersNeedTheOriginToAllowSharing) {
  expectDecisions(
      {
          {"max-age only", 200, {{"Cache-Control", "max-age=60"}}, false, "credentials"},
          {"public", 200, {{"Cache-Control", "public, max-age=60"}}, true, ""},
          {"s-maxage", 200, {{"Cache-Control", "s-maxage=60"}}, true, ""},
          {"must-revalidate", 200, {{"Cache-Control", "must-revalidate, max-age=60"}}, true, ""},
      },
      config::RouteClass{}, /*credentialed_unscoped=*/true);
}

TEST(DecideStore, AResponseNeedsFreshnessAValidatorOrAClassTtl) {
  const std::string future = formatHttpDate(kT + kMinute);
  expectDecisions(
      {
          {"nothing", 200, {}, false, "no-freshness"},
          {"expires", 200, {{"Date", kTDate}, {"Expires", future}}, true, ""},
          {"etag only", 200, {{"ETag", "\"v1\""}}, true, ""},
          {"last-modified only", 200, {{"Last-Modified", kTDate}}, true, ""},
          {"max-age=0", 200, {{"Cache-Control", "max-age=0"}}, false, "no-freshness"},
          {"max-age=0 with etag", 200, {{"Cache-Control", "max-age=0"}, {"ETag", "\"a\""}}, true,
           ""},
          {"max-age=0 with swr", 200,
           {{"Cache-Control", "max-age=0, stale-while-revalidate=30"}}, true, ""},
          {"max-age=0 with sie", 200, {{"Cache-Control", "max-age=0, stale-if-error=30"}}, true,
           ""},
          {"must-revalidate forbids stale use", 200,
           {{"Cache-Control", "max-age=0, must-revalidate, stale-if-error=30"}}, false,
           "no-freshness"},
          {"invalid expires", 200, {{"Expires", "0"}}, false, "no-freshness"},
          {"already too old", 200, {{"Cache-Control", "max-age=60"}, {"Age", "61"}}, false,
           "no-freshness"},
          {"no-cache", 200, {{"Cache-Control", "no-cache, max-age=60"}}, false, "no-cache"},
          {"no-cache with etag", 200, {{"Cache-Control", "no-cache"}, {"ETag", "\"a\""}}, true,
           ""},
      },
      config::RouteClass{});
}

TEST(DecideStore, AClassTtlMakesAResponseWithoutFreshnessStorable) {
  config::RouteClass route_class;
  route_class.ttl = config::Millis{30'000};
  expectDecisions({{"nothing", 200, {}, true, ""}}, route_class);
}

TEST(DecideStore, OverridingTheOriginRescuesAZeroMaxAge) {
  config::RouteClass route_class;
  route_class.ttl = config::Millis{30'000};
  route_class.override_origin = true;
  expectDecisions({{"max-age=0", 200, {{"Cache-Control", "max-age=0"}}, true, ""}}, route_class);
}

TEST(DecideStore, MissingHeadersMeanNoFreshness) {
  ResponseFacts facts;
  const StoreDecision decision = decideStore(facts, config::RouteClass{}, kT);
  EXPECT_FALSE(decision.store);
  EXPECT_STREQ(decision.reason, "no-freshness");
}

}  // namespace
}  // namespace edge::cache
