#include "proxy/cache/entry.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace edge::cache {
namespace {

TEST(CachedEntry, AnEmptyEntryChargesTheFixedOverhead) {
  EXPECT_EQ(CachedEntry{}.charge(), 256u);
}

TEST(CachedEntry, ChargeCountsEverythingTheEntryHolds) {
  CachedEntry entry;
  entry.key = "k123";                                            // 4
  entry.reason = "OK";                                           // 2
  entry.headers.add("ETag", "\"v\"");                            // 4 + 3
  entry.headers.add("X", "yz");                                  // 1 + 2
  entry.body = std::make_shared<const std::string>(1000, 'b');  // 1000
  entry.vary_values = {{"accept-encoding", "br"}};               // 15 + 2
  entry.tags = {"org:1", "sites"};                               // 5 + 5
  entry.etag = "\"v\"";                                          // 3
  entry.last_modified = "yesterday";                             // 9
  EXPECT_EQ(entry.charge(), 256u + 4 + 2 + 7 + 3 + 1000 + 17 + 10 + 3 + 9);
}

}  // namespace
}  // namespace edge::cache
