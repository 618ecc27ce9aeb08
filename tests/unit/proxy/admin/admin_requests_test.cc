// /stats reports the workers' request counters as summed by its source, after every field it
// had before.
#include <gtest/gtest.h>

#include <string>

#include "lib/cache/shared_cache.h"
#include "proxy/admin/admin_api.h"

namespace edge::admin {
namespace {

using filters::CacheOutcome;
using filters::ErrorKind;

class AdminRequestsTest : public ::testing::Test {
 protected:
  std::string stats(AdminApi& api) {
    return api.handle({"GET", "/stats", "Bearer s3cret", ""}).body;
  }

  cache::MemoryStore store_{64 << 20, 4};
  invalidation::InvalidationStats stats_;
  invalidation::Purger purger_{store_, stats_, 1024};
};

TEST_F(AdminRequestsTest, ReportsTheSummedCountersLast) {
  int calls = 0;
  AdminApi api{"s3cret", purger_, stats_, 1024, nullptr, [&calls](bool) {
                 ++calls;
                 RequestTotals totals;
                 totals.requests = 6;
                 totals.outcomes[static_cast<size_t>(CacheOutcome::Hit)] = 2;
                 totals.outcomes[static_cast<size_t>(CacheOutcome::Miss)] = 1;
                 totals.outcomes[static_cast<size_t>(CacheOutcome::None)] = 3;
                 totals.statuses[2] = 4;
                 totals.statuses[4] = 1;
                 totals.statuses[5] = 1;
                 totals.errors[static_cast<size_t>(ErrorKind::BadRequest)] = 1;
                 totals.errors[static_cast<size_t>(ErrorKind::ConnectRefused)] = 1;
                 totals.bytes_in = 12;
                 totals.bytes_out = 3456;
                 totals.connections.tls_handshakes = 7;
                 totals.connections.tls_resumed = 2;
                 totals.connections.tls_failures[static_cast<size_t>(TlsFailure::PlainHttp)] = 1;
                 totals.connections.tunnels_open = 3;
                 totals.connections.tunnels_opened = 5;
                 totals.connections.tunnels_refused = 1;
                 return totals;
               }};
  const std::string body = stats(api);
  EXPECT_EQ(calls, 1);
  const std::string expected =
      R"("requests":{"total":6,)"
      R"("cache":{"none":3,"hit":2,"miss":1,"stale":0,"revalidated":0,"coalesced":0,"bypass":0},)"
      R"("status":{"none":0,"1xx":0,"2xx":4,"3xx":0,"4xx":1,"5xx":1},)"
      R"("errors":{"bad_request":1,"connect_refused":1,"connect_timeout":0,"upstream_tls":0,)"
      R"("first_byte_timeout":0,"upstream_reset":0,"upstream_protocol":0,"over_limit":0,)"
      R"("encoding_failed":0,"aborted":0},"bytes_in":12,"bytes_out":3456},)"
      R"("tls":{"handshakes":7,"resumed":2,"handshake_failures":{"timeout":0,"protocol":0,)"
      R"("plain_http":1,"unknown_sni":0,"client_cert":0,"other":0}},)"
      R"("tunnels":{"open":3,"opened":5,"refused":1}})";
  ASSERT_GE(body.size(), expected.size());
  EXPECT_EQ(body.substr(body.size() - expected.size()), expected) << body;
}

TEST_F(AdminRequestsTest, TheFieldsBeforeAreUnchanged) {
  AdminApi without{"s3cret", purger_, stats_, 1024};
  AdminApi with{"s3cret", purger_, stats_, 1024, nullptr, [](bool) { return RequestTotals{}; }};
  const std::string a = stats(without);
  const std::string b = stats(with);
  EXPECT_EQ(a, b) << "no source reads as zeros";
  const size_t at = a.find(R"(,"requests":)");
  ASSERT_NE(at, std::string::npos) << a;
  EXPECT_EQ(a.substr(0, 10), R"({"store":{)");
  EXPECT_EQ(a.substr(at - 2, 2), "}}") << "requests follows the invalidation object";
  EXPECT_NE(a.find(R"(,"tls":{"handshakes":0,)"), std::string::npos) << a;
  EXPECT_NE(a.find(R"("requests":{"total":0,)"), std::string::npos) << a;
}

}  // namespace
}  // namespace edge::admin
