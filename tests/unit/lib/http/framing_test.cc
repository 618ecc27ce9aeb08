#include "lib/http/framing.h"

#include <gtest/gtest.h>

namespace edge::http {
namespace {

TEST(Framing, StatusesWithoutBodies) {
  EXPECT_TRUE(statusHasNoBody(100));
  EXPECT_TRUE(statusHasNoBody(204));
  EXPECT_TRUE(statusHasNoBody(304));
  EXPECT_FALSE(statusHasNoBody(200));
  EXPECT_FALSE(statusHasNoBody(404));
}

TEST(Framing, UpstreamRequestKeepsChunkedOrLengthOrNone) {
  EXPECT_EQ(upstreamRequestFraming(false, 0, true).kind, BodyFraming::Chunked);
  Framing cl = upstreamRequestFraming(true, 42, false);
  EXPECT_EQ(cl.kind, BodyFraming::ContentLength);
  EXPECT_EQ(cl.length, 42u);
  EXPECT_EQ(upstreamRequestFraming(false, 0, false).kind, BodyFraming::None);
}

TEST(Framing, ResponseWithLengthKeepsTheLength) {
  auto f = downstreamResponseFraming({false, 200, true, 1234, true});
  EXPECT_EQ(f.framing.kind, BodyFraming::ContentLength);
  EXPECT_EQ(f.framing.length, 1234u);
  EXPECT_FALSE(f.must_close);
}

TEST(Framing, UnknownLengthIsChunkedForHttp11AndCloseDelimitedForHttp10) {
  auto f11 = downstreamResponseFraming({false, 200, false, 0, true});
  EXPECT_EQ(f11.framing.kind, BodyFraming::Chunked);
  EXPECT_FALSE(f11.must_close);
  auto f10 = downstreamResponseFraming({false, 200, false, 0, false});
  EXPECT_EQ(f10.framing.kind, BodyFraming::UntilClose);
  EXPECT_TRUE(f10.must_close);
}

TEST(Framing, HeadResponsesAdvertiseTheLengthWithoutABody) {
  auto f = downstreamResponseFraming({true, 200, true, 99, true});
  EXPECT_EQ(f.framing.kind, BodyFraming::None);
  EXPECT_TRUE(f.advertise_length_only);
  EXPECT_EQ(f.framing.length, 99u);
}

TEST(Framing, NoContentAndNotModifiedNeverCarryABody) {
  EXPECT_EQ(downstreamResponseFraming({false, 204, false, 0, true}).framing.kind,
            BodyFraming::None);
  auto f = downstreamResponseFraming({false, 304, true, 10, true});
  EXPECT_EQ(f.framing.kind, BodyFraming::None);
  EXPECT_FALSE(f.advertise_length_only);
}

TEST(Framing, IdempotentMethods) {
  EXPECT_TRUE(isIdempotentMethod("GET"));
  EXPECT_TRUE(isIdempotentMethod("PUT"));
  EXPECT_TRUE(isIdempotentMethod("DELETE"));
  EXPECT_FALSE(isIdempotentMethod("POST"));
  EXPECT_FALSE(isIdempotentMethod("PATCH"));
}

}  // namespace
}  // namespace edge::http
