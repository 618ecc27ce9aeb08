#include "lib/cache/entry.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace edge::cache {
namespace {

size_t emptyCharge() { return CachedEntry{}.charge(); }

TEST(CachedEntry, AnEmptyEntryChargesItsOwnBlockAndTheStoreBookkeeping) {
  EXPECT_GE(emptyCharge(), sizeof(CachedEntry) + 16 + 256);
  EXPECT_LE(emptyCharge(), sizeof(CachedEntry) + 16 + 256 + 32);
}

TEST(CachedEntry, ChargeCountsEverythingTheEntryHolds) {
  CachedEntry entry;
  entry.key = "k123";
  entry.reason = "OK";
  entry.headers.add("ETag", "\"v\"");
  entry.headers.add("X", "yz");
  entry.body = std::make_shared<const std::string>(1000, 'b');
  entry.vary_values = {{"accept-encoding", "br"}};
  entry.tags = {"org:1", "sites"};
  entry.etag = "\"v\"";
  entry.last_modified = "yesterday";
  const size_t payload = 1000 + 4 + 2 + 7 + 3 + 17 + 10 + 3 + 9;
  // Every byte held, plus the blocks that hold them: the header and pair vectors, the body's
  // control block and string object, the tag index entries.
  EXPECT_GE(entry.charge(), emptyCharge() + payload + 2 * sizeof(http::Header) +
                                sizeof(std::string) + 2 * 128);
}

TEST(CachedEntry, ABodyCostsItsCapacityNotItsSize) {
  // A gzip form of 500 bytes made in 16 KB steps keeps a 16 KB buffer unless it is shrunk.
  std::string roomy(500, 'z');
  roomy.reserve(16 * 1024);
  CachedEntry entry;
  auto encoded = std::make_shared<CachedEntry::Encoded>();
  encoded->body = std::make_shared<const std::string>(std::move(roomy));
  entry.encoded[0] = encoded;
  EXPECT_GE(entry.charge(), emptyCharge() + 16 * 1024);

  CachedEntry tight;
  auto compact = std::make_shared<CachedEntry::Encoded>();
  compact->body = std::make_shared<const std::string>(500, 'z');
  tight.encoded[0] = compact;
  EXPECT_LT(tight.charge(), emptyCharge() + 1024);
}

TEST(CachedEntry, SmallStringsCostAWholeMallocBlock) {
  // 40 headers of a few bytes each hold far more than their characters: the Header objects,
  // and one 32-byte block at least for every value too long to be stored inline.
  CachedEntry entry;
  for (int i = 0; i < 40; ++i) {
    entry.headers.add("h" + std::to_string(i), std::string(20, 'v'));
  }
  EXPECT_GE(entry.charge(), emptyCharge() + 40 * (sizeof(http::Header) + 32));
}

TEST(CachedEntry, ChargeIsTheSameForACopy) {
  CachedEntry entry;
  entry.key = "https://example.test/a/rather/long/key?with=query";
  entry.headers.add("Content-Type", "application/json");
  entry.body = std::make_shared<const std::string>(3000, 'b');
  entry.tags = {"site:1"};
  EXPECT_EQ(cloneEntry(entry)->charge(), entry.charge());
}

}  // namespace
}  // namespace edge::cache
