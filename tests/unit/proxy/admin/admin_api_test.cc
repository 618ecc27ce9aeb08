#include "proxy/admin/admin_api.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "proxy/admin/json_writer.h"
#include "lib/cache/shared_cache.h"

namespace edge::admin {
namespace {

bool any(const cache::CachedEntry& /*entry*/) { return true; }

class AdminApiTest : public ::testing::Test {
 protected:
  AdminApiTest() {
    auto entry = std::make_shared<cache::CachedEntry>();
    entry->key = "h|/wo/1|c|";
    entry->tags = {"org:42:wo:1"};
    entry->body = std::make_shared<const std::string>("hello");
    entry->etag = "\"v1\"";
    entry->freshness_lifetime_ms = 60'000;
    entry->response_time_ms = entry->request_time_ms = cache::wallClockMs();
    store_.insert(std::move(entry));
  }

  AdminResponse call(std::string method, std::string target, std::string body = {},
                     std::string auth = "Bearer s3cret") {
    return api_.handle({std::move(method), std::move(target), std::move(auth), std::move(body)});
  }
  bool stored() { return store_.lookup("h|/wo/1|c|", any) != nullptr; }

  cache::MemoryStore store_{64 << 20, 4};
  invalidation::InvalidationStats stats_;
  invalidation::Purger purger_{store_, stats_, 1024};
  AdminApi api_{"s3cret", purger_, stats_, 1024};
};

std::string header(const AdminResponse& response, const std::string& name) {
  for (const auto& [n, v] : response.headers) {
    if (n == name) {
      return v;
    }
  }
  return {};
}

TEST_F(AdminApiTest, RequestsWithoutTheRightTokenGet401WhateverThePath) {
  for (const char* auth : {"", "Bearer wrong", "Bearer s3cre", "Basic s3cret", "Bearer s3cret2"}) {
    const AdminResponse r = call("POST", "/purge?pattern=*", "", auth);
    EXPECT_EQ(r.status, 401) << auth;
    EXPECT_EQ(header(r, "WWW-Authenticate").substr(0, 6), "Bearer");
  }
  EXPECT_EQ(call("GET", "/nothing", "", "").status, 401);
  EXPECT_TRUE(stored());
}

TEST_F(AdminApiTest, PurgeByQueryParameters) {
  const AdminResponse r = call("POST", "/purge?tag=org%3A42%3Awo%3A1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"purged":1,"soft":false,"keys":0,"tags":1,"patterns":0})");
  EXPECT_FALSE(stored());
  EXPECT_EQ(stats_.admin_purges, 1u);
}

TEST_F(AdminApiTest, SoftPurgeByKeyWithAnEscapedKey) {
  const AdminResponse r = call("POST", "/purge?key=h%7C%2Fwo%2F1%7Cc%7C&soft=1");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(store_.lookup("h|/wo/1|c|", any)->invalidated.load());
}

TEST_F(AdminApiTest, PurgeByJsonBody) {
  const AdminResponse r = call("POST", "/purge", R"({"patterns":["org:42:*"]})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(stored());
}

TEST_F(AdminApiTest, BadPurgesGet400WithTheReason) {
  EXPECT_EQ(call("POST", "/purge", R"({"tags":"x"})").body,
            R"({"error":"\"tags\" must be an array of strings"})");
  EXPECT_EQ(call("POST", "/purge").status, 400);
  EXPECT_EQ(call("POST", "/purge?tag=").status, 400);
  EXPECT_EQ(call("POST", "/purge?tag=%zz").status, 400);
  EXPECT_EQ(call("POST", "/purge", "plain text").status, 400);
  EXPECT_TRUE(stored());
}

TEST_F(AdminApiTest, WrongMethodsAndPathsGetJsonErrors) {
  const AdminResponse r = call("GET", "/purge?tag=x");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(header(r, "Allow"), "POST");
  EXPECT_EQ(call("DELETE", "/stats").status, 405);
  const AdminResponse missing = call("GET", "/api/v1/sites");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body.substr(0, 9), R"({"error":)");
}

TEST_F(AdminApiTest, StatsReportTheStoreAndTheFeed) {
  stats_.messages = 3;
  const AdminResponse r = call("GET", "/stats");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("entries":1)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("messages":3)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("last_gap":{"count":0)"), std::string::npos) << r.body;
}

TEST_F(AdminApiTest, EntryShowsTheMetadataOfEachVariant) {
  const AdminResponse r = call("GET", "/entry?key=h%7C%2Fwo%2F1%7Cc%7C");
  EXPECT_EQ(r.status, 200);
  for (const char* part : {R"("key":"h|/wo/1|c|")", R"("status":200)", R"("size":5)",
                           R"("etag":"\"v1\"")", R"("tags":["org:42:wo:1"])",
                           R"("invalidated":false)", R"("fresh":true)"}) {
    EXPECT_NE(r.body.find(part), std::string::npos) << part << " in " << r.body;
  }
  EXPECT_EQ(call("GET", "/entry?key=nope").status, 404);
  EXPECT_EQ(call("GET", "/entry").status, 400);
}

TEST(JsonWriter, WritesNestedValuesWithCommasAndEscapes) {
  JsonWriter json;
  json.beginObject().field("a", 1).key("b").beginArray().value("x\"\n").value(true).endArray();
  json.key("c").beginObject().endObject().endObject();
  EXPECT_EQ(json.take(), R"({"a":1,"b":["x\"\u000a",true],"c":{}})");
}

TEST(QueryValues, DecodesEveryValueOfAName) {
  bool valid = true;
  EXPECT_EQ(queryValues("tag=a&key=k&tag=b%20c&tagx=d", "tag", valid),
            (std::vector<std::string>{"a", "b c"}));
  EXPECT_TRUE(valid);
  queryValues("tag=%4", "tag", valid);
  EXPECT_FALSE(valid);
}

}  // namespace
}  // namespace edge::admin
