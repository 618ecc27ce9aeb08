#include "lib/cache/http_date_cache.h"

#include <gtest/gtest.h>

namespace edge::cache {
namespace {

TEST(HttpDateCache, FormatsLikeFormatHttpDateAndFollowsTheSecond) {
  HttpDateCache cache;
  const int64_t t = 1'796'386'009'350;  // 2026-12-04, mid-second
  EXPECT_EQ(cache.at(t), formatHttpDate(t));
  EXPECT_EQ(cache.at(t + 600), formatHttpDate(t));  // same second
  EXPECT_EQ(cache.at(t + 650), formatHttpDate(t + 650));
  EXPECT_NE(cache.at(t + 650), formatHttpDate(t));  // the next second
  EXPECT_EQ(cache.at(t - 1000), formatHttpDate(t - 1000));  // the clock went back
}

}  // namespace
}  // namespace edge::cache
