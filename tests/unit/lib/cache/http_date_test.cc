#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "lib/cache/policy.h"
#include "tests/unit/lib/cache/policy_test_support.h"

namespace edge::cache {
namespace {

TEST(ParseHttpDate, AcceptsAllThreeFormsOfRfc9110) {
  for (const char* text : {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(parseHttpDate(text), kT);
  }
}

TEST(ParseHttpDate, ToleratesSurroundingWhiteSpace) {
  EXPECT_EQ(parseHttpDate("  Sun, 06 Nov 1994 08:49:37 GMT\t"), kT);
}

TEST(ParseHttpDate, ReadsTwoDigitYearsOfRfc850AroundThePresent) {
  EXPECT_EQ(parseHttpDate("Thursday, 01-Jan-15 00:00:00 GMT"), 1420070400 * kSecond);
}

TEST(ParseHttpDate, RejectsAnythingElse) {
  const std::vector<const char*> invalid = {
      "",
      "0",
      "-1",
      "garbage",
      "Sun, 06 Nov 1994 08:49:37",
      "Sun, 06 Nov 1994 08:49:37 GMT junk",
      "Sun, 06 Nov 1994 08:49:37 PST",
      "Tue, 31 Feb 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 25:49:37 GMT",
      "Sun, 06 Foo 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 08:49 GMT",
      "1994-11-06T08:49:37Z",
  };
  for (const char* text : invalid) {
    SCOPED_TRACE(text);
    EXPECT_EQ(parseHttpDate(text), std::nullopt);
  }
}

TEST(FormatHttpDate, WritesImfFixdate) {
  EXPECT_EQ(formatHttpDate(kT), kTDate);
  EXPECT_EQ(formatHttpDate(kT + 999), kTDate);
  EXPECT_EQ(formatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(formatHttpDate(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
}

TEST(FormatHttpDate, RoundTripsThroughParse) {
  for (int64_t t : {kT, int64_t{1700000000} * kSecond, int64_t{951782400} * kSecond}) {
    EXPECT_EQ(parseHttpDate(formatHttpDate(t)), t);
  }
}

}  // namespace
}  // namespace edge::cache
