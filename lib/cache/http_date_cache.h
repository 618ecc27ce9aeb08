// The Date of responses being sent, formatted once per second: a cache hit must not pay for
// gmtime_r and snprintf each time. One per thread (it is not locked).
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "lib/cache/policy.h"

namespace edge::cache {

class HttpDateCache {
 public:
  const std::string& at(int64_t epoch_ms) {
    const int64_t second = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
    if (second != second_) {
      second_ = second;
      text_ = formatHttpDate(epoch_ms);
    }
    return text_;
  }

 private:
  int64_t second_ = std::numeric_limits<int64_t>::min();
  std::string text_;
};

}  // namespace edge::cache
