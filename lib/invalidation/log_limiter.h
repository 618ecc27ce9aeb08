// Keeps a flood of identical warnings (malformed messages) from flooding the log: at most
// `burst` lines per window; the next line after a window reports how many were left out.
#pragma once

#include <cstdint>

namespace edge::invalidation {

class LogLimiter {
 public:
  LogLimiter(uint32_t burst, int64_t window_ms) : burst_(burst), window_ms_(window_ms) {}

  // Whether a line may be written at `now_ms`. When it may, `suppressed` is set to the number
  // of lines left out since the last one written.
  bool allow(int64_t now_ms, uint64_t& suppressed) {
    if (now_ms - window_start_ms_ >= window_ms_) {
      window_start_ms_ = now_ms;
      used_ = 0;
    }
    if (used_ >= burst_) {
      ++suppressed_;
      return false;
    }
    ++used_;
    suppressed = suppressed_;
    suppressed_ = 0;
    return true;
  }

 private:
  const uint32_t burst_;
  const int64_t window_ms_;
  int64_t window_start_ms_ = INT64_MIN / 2;
  uint32_t used_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace edge::invalidation
