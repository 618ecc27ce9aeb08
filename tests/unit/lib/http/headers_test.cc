#include "lib/http/headers.h"

#include <gtest/gtest.h>

namespace edge::http {
namespace {

TEST(Headers, FindIsCaseInsensitiveAndReturnsTheFirst) {
  Headers h;
  h.add("Content-Type", "a");
  h.add("content-type", "b");
  ASSERT_NE(h.find("CONTENT-TYPE"), nullptr);
  EXPECT_EQ(*h.find("CONTENT-TYPE"), "a");
  EXPECT_EQ(h.count("Content-type"), 2u);
  EXPECT_EQ(h.joined("content-type"), "a, b");
  EXPECT_EQ(h.find("missing"), nullptr);
}

TEST(Headers, SetReplacesEveryValueAndRemoveDropsAll) {
  Headers h;
  h.add("X-A", "1");
  h.add("x-a", "2");
  h.set("X-A", "3");
  EXPECT_EQ(h.count("x-a"), 1u);
  EXPECT_EQ(*h.find("x-a"), "3");
  h.remove("X-a");
  EXPECT_TRUE(h.empty());
}

TEST(Headers, TokenListsIgnoreCaseSpacesAndEmptyElements) {
  EXPECT_TRUE(hasToken("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(hasToken(" ,close ,", "close"));
  EXPECT_FALSE(hasToken("closed", "close"));
  EXPECT_FALSE(hasToken("", "close"));
}

TEST(Headers, AppendToListExtendsTheExistingHeaderOrCreatesIt) {
  Headers h;
  h.appendToList("X-Forwarded-For", "10.0.0.1");
  h.appendToList("x-forwarded-for", "127.0.0.1");
  EXPECT_EQ(*h.find("X-Forwarded-For"), "10.0.0.1, 127.0.0.1");
}

TEST(Headers, StripHopByHopRemovesStandardAndNominatedHeaders) {
  Headers h;
  h.add("Connection", "X-Secret, keep-alive");
  h.add("Keep-Alive", "timeout=5");
  h.add("Proxy-Connection", "keep-alive");
  h.add("TE", "trailers");
  h.add("Trailer", "X-T");
  h.add("Transfer-Encoding", "chunked");
  h.add("Upgrade", "websocket");
  h.add("X-Secret", "s");
  h.add("X-Kept", "k");
  h.add("Content-Length", "3");
  stripHopByHop(h);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_NE(h.find("x-kept"), nullptr);
  EXPECT_NE(h.find("content-length"), nullptr);
}

TEST(Headers, StripHopByHopNeverDropsHostEvenWhenNominated) {
  Headers h;
  h.add("Host", "api.example.com");
  h.add("Connection", "host");
  stripHopByHop(h);
  ASSERT_NE(h.find("host"), nullptr);
  EXPECT_EQ(*h.find("host"), "api.example.com");
}

}  // namespace
}  // namespace edge::http
