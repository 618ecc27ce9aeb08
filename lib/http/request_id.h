// Request ids (X-Request-Id): which incoming ids are kept, and new ones. Pure apart from the
// generator's seed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace edge::http {

inline constexpr size_t kMaxRequestIdSize = 200;

// 1..200 bytes of visible ASCII (0x21-0x7E): safe in a header, a log line and a JSON string.
bool validRequestId(std::string_view id);

// Random 128-bit ids as 32 lower-case hex digits. One per worker thread (no locks): a
// xoshiro256** stream seeded from getrandom(), so ids do not repeat across workers or restarts.
class RequestIdGenerator {
 public:
  RequestIdGenerator();
  std::string next();

 private:
  uint64_t nextWord();
  uint64_t state_[4];
};

}  // namespace edge::http
