#include "proxy/tls/ticket_keys.h"

#include <gtest/gtest.h>

#include <chrono>

namespace edge::tls {
namespace {

using namespace std::chrono_literals;
using Found = TicketKeys::Found;
using TimePoint = std::chrono::steady_clock::time_point;

// Explicit time points: the ring only compares them, so nothing waits for the clock.
const TimePoint kStart = TimePoint{} + 24h;

bool sameKey(const TicketKeys::Key& a, const TicketKeys::Key& b) {
  return a.name == b.name && a.aes == b.aes && a.hmac == b.hmac;
}

TEST(TicketKeysTest, TheCurrentKeyStaysUntilTheRotationIntervalHasPassed) {
  TicketKeys keys(60s, 3);
  TicketKeys::Key first = keys.current(kStart);
  EXPECT_EQ(first.created, kStart);
  EXPECT_TRUE(sameKey(keys.current(kStart + 1s), first));
  EXPECT_TRUE(sameKey(keys.current(kStart + 59s), first));
  TicketKeys::Key second = keys.current(kStart + 60s);
  EXPECT_FALSE(sameKey(second, first)) << "rotated once the key is `rotation` old";
  EXPECT_NE(second.name, first.name);
  EXPECT_NE(second.aes, first.aes);
  EXPECT_NE(second.hmac, first.hmac);
  EXPECT_EQ(second.created, kStart + 60s);
  EXPECT_TRUE(sameKey(keys.current(kStart + 119s), second));
}

TEST(TicketKeysTest, APreviousKeyIsStillFoundAsPrevious) {
  TicketKeys keys(60s, 3);
  TicketKeys::Key first = keys.current(kStart);
  TicketKeys::Key out;
  EXPECT_EQ(keys.find(first.name.data(), kStart + 10s, out), Found::Current);
  EXPECT_TRUE(sameKey(out, first));
  TicketKeys::Key second = keys.current(kStart + 61s);
  ASSERT_FALSE(sameKey(second, first));
  TicketKeys::Key found_first;
  EXPECT_EQ(keys.find(first.name.data(), kStart + 62s, found_first), Found::Previous);
  EXPECT_TRUE(sameKey(found_first, first)) << "the old key decrypts its tickets";
  TicketKeys::Key found_second;
  EXPECT_EQ(keys.find(second.name.data(), kStart + 62s, found_second), Found::Current);
  EXPECT_TRUE(sameKey(found_second, second));
}

TEST(TicketKeysTest, FindRotatesADueKeySoTheLastCurrentOneBecomesPrevious) {
  TicketKeys keys(60s, 3);
  TicketKeys::Key first = keys.current(kStart);
  TicketKeys::Key out;
  // Nobody encrypted a ticket for a while: the lookup itself finds the key due.
  EXPECT_EQ(keys.find(first.name.data(), kStart + 90s, out), Found::Previous);
  EXPECT_FALSE(sameKey(keys.current(kStart + 90s), first));
}

TEST(TicketKeysTest, KeysFallOffTheRingAfterKept) {
  TicketKeys keys(60s, 3);
  TicketKeys::Key k0 = keys.current(kStart);
  TicketKeys::Key k1 = keys.current(kStart + 60s);
  TicketKeys::Key k2 = keys.current(kStart + 120s);
  TicketKeys::Key out;
  EXPECT_EQ(keys.find(k0.name.data(), kStart + 121s, out), Found::Previous);
  EXPECT_EQ(keys.find(k1.name.data(), kStart + 121s, out), Found::Previous);
  EXPECT_EQ(keys.find(k2.name.data(), kStart + 121s, out), Found::Current);
  TicketKeys::Key k3 = keys.current(kStart + 180s);
  EXPECT_EQ(keys.find(k0.name.data(), kStart + 181s, out), Found::No) << "the 4th key pushed it out";
  EXPECT_EQ(keys.find(k1.name.data(), kStart + 181s, out), Found::Previous);
  EXPECT_EQ(keys.find(k2.name.data(), kStart + 181s, out), Found::Previous);
  EXPECT_EQ(keys.find(k3.name.data(), kStart + 181s, out), Found::Current);
}

TEST(TicketKeysTest, SeveralMissedIntervalsRotateOnlyOnce) {
  TicketKeys keys(60s, 2);
  TicketKeys::Key k0 = keys.current(kStart);
  TicketKeys::Key k1 = keys.current(kStart + 1h);
  TicketKeys::Key out;
  EXPECT_FALSE(sameKey(k1, k0));
  EXPECT_EQ(keys.find(k0.name.data(), kStart + 1h, out), Found::Previous);
  EXPECT_TRUE(sameKey(keys.current(kStart + 1h + 59s), k1)) << "the interval restarts at k1";
}

TEST(TicketKeysTest, WithOneKeptKeyARotatedKeyIsGone) {
  TicketKeys keys(60s, 1);
  TicketKeys::Key k0 = keys.current(kStart);
  keys.current(kStart + 60s);
  TicketKeys::Key out;
  EXPECT_EQ(keys.find(k0.name.data(), kStart + 60s, out), Found::No);
}

TEST(TicketKeysTest, AnUnknownNameIsNotFound) {
  TicketKeys keys(60s, 3);
  TicketKeys::Key k0 = keys.current(kStart);
  TicketKeys::Key out;
  std::array<unsigned char, 16> unknown = k0.name;
  unknown[15] ^= 0x01;
  EXPECT_EQ(keys.find(unknown.data(), kStart + 1s, out), Found::No);
  std::array<unsigned char, 16> zeros{};
  EXPECT_EQ(keys.find(zeros.data(), kStart + 1s, out), Found::No);
}

TEST(TicketKeysTest, AFindBeforeAnyKeyCreatesTheFirstAndFindsNothing) {
  TicketKeys keys(60s, 3);
  std::array<unsigned char, 16> name{};
  TicketKeys::Key out;
  EXPECT_EQ(keys.find(name.data(), kStart, out), Found::No);
  TicketKeys::Key k0 = keys.current(kStart + 1s);
  EXPECT_EQ(k0.created, kStart) << "the lookup made the ring's first key";
}

}  // namespace
}  // namespace edge::tls
