#include "lib/http/request_id.h"

#include <sys/random.h>

#include <chrono>
#include <cstdio>

namespace edge::http {
namespace {

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

bool validRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdSize) {
    return false;
  }
  for (char ch : id) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7E) {
      return false;
    }
  }
  return true;
}

RequestIdGenerator::RequestIdGenerator() {
  size_t got = 0;
  auto* bytes = reinterpret_cast<unsigned char*>(state_);
  while (got < sizeof state_) {
    ssize_t n = getrandom(bytes + got, sizeof state_ - got, 0);
    if (n <= 0) {
      break;  // no entropy source: fall back below, never an all-zero state
    }
    got += static_cast<size_t>(n);
  }
  if (got < sizeof state_) {
    uint64_t seed = static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count()) ^
        reinterpret_cast<uintptr_t>(this);
    for (uint64_t& word : state_) {
      seed += 0x9E3779B97F4A7C15ull;  // splitmix64
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      word = z ^ (z >> 31);
    }
  }
}

uint64_t RequestIdGenerator::nextWord() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

std::string RequestIdGenerator::next() {
  // By hand rather than snprintf: this runs for every request, hits included.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (size_t half = 0; half < 2; ++half) {
    uint64_t word = nextWord();
    for (size_t i = 0; i < 16; ++i) {
      id[half * 16 + 15 - i] = kHex[word & 15];
      word >>= 4;
    }
  }
  return id;
}

}  // namespace edge::http
