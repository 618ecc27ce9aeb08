// varyHeaders and normaliseVaryValue.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "lib/cache/policy.h"
#include "tests/unit/lib/cache/policy_test_support.h"

namespace edge::cache {
namespace {

using Names = std::vector<std::string>;

TEST(VaryHeaders, AResponseWithoutVaryHasNoVariants) {
  const auto names = varyHeaders(headersOf({{"Content-Type", "text/plain"}}), {});
  ASSERT_TRUE(names.has_value());
  EXPECT_TRUE(names->empty());
}

TEST(VaryHeaders, AllowedNamesAreLowerCasedSortedAndUniqueAcrossLines) {
  const auto names = varyHeaders(
      headersOf({{"Vary", "Accept-Language, accept-encoding"}, {"vary", "ACCEPT-ENCODING, ,"}}),
      {});
  ASSERT_TRUE(names.has_value());
  EXPECT_EQ(*names, (Names{"accept-encoding", "accept-language"}));
}

TEST(VaryHeaders, StarOrANameOutsideTheAllowListIsNotStorable) {
  for (const char* vary : {"*", "Cookie", "accept-encoding, *", "Accept, User-Agent"}) {
    SCOPED_TRACE(vary);
    EXPECT_FALSE(varyHeaders(headersOf({{"Vary", vary}}), {}).has_value());
  }
}

TEST(VaryHeaders, TheClassAllowListDecides) {
  config::RouteClass route_class;
  route_class.vary = {"x-device"};
  EXPECT_EQ(varyHeaders(headersOf({{"Vary", "X-Device"}}), route_class), Names{"x-device"});
  EXPECT_FALSE(varyHeaders(headersOf({{"Vary", "Accept-Encoding"}}), route_class).has_value());
}

struct EncodingCase {
  std::optional<std::string> accept_encoding;
  const char* variant;
};

TEST(NormaliseVaryValue, AcceptEncodingBecomesWhatTheClientAccepts) {
  const std::vector<EncodingCase> cases = {
      {std::nullopt, "identity"},
      {"", "identity"},
      {"gzip", "gzip"},
      {"x-gzip", "gzip"},
      {"gzip, deflate, br", "br"},
      {"BR", "br"},
      {"deflate", "identity"},
      {"identity", "identity"},
      {"br;q=0, gzip", "gzip"},
      {"br;q=0.0, gzip;q=0.001", "gzip"},
      {"br;q=0.000, gzip;q=0.", "identity"},
      {"gzip;q=0, br;q=0.5", "br"},
      {"br ; q=0 , gzip ; Q=1", "gzip"},
      {"br;level=1;q=0", "identity"},
      {"*", "br"},
      {"*;q=0", "identity"},
      {"gzip;q=0, *", "br"},
      {"br;q=0, *", "gzip"},
      {"br;q=0, gzip;q=0, *", "identity"},
      {"br;q=0, br", "identity"},
      {"gzip;q=bogus", "gzip"},
  };
  for (const EncodingCase& c : cases) {
    SCOPED_TRACE(c.accept_encoding.value_or("<absent>"));
    const std::string* value = c.accept_encoding ? &*c.accept_encoding : nullptr;
    EXPECT_EQ(normaliseVaryValue("Accept-Encoding", value), c.variant);
  }
}

TEST(NormaliseVaryValue, OtherHeadersAreLowerCasedTrimmedAndCollapsed) {
  const std::string value = "  EN-us,\t fr;q=0.5   de ";
  EXPECT_EQ(normaliseVaryValue("accept-language", &value), "en-us, fr;q=0.5 de");
  const std::string blank = " \t ";
  EXPECT_EQ(normaliseVaryValue("accept", &blank), "");
}

TEST(NormaliseVaryValue, AnAbsentHeaderIsEmpty) {
  EXPECT_EQ(normaliseVaryValue("accept-language", nullptr), "");
}

}  // namespace
}  // namespace edge::cache
