// Shared fixtures for the caching policy tests: fixed times and terse header lists.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>

#include "config/config.h"
#include "lib/http/headers.h"

namespace edge::cache {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
// Sun, 06 Nov 1994 08:49:37 GMT: the example instant of RFC 9110 5.6.7.
constexpr int64_t kT = 784111777 * kSecond;
inline const char* const kTDate = "Sun, 06 Nov 1994 08:49:37 GMT";

inline http::Headers headersOf(std::initializer_list<std::pair<std::string, std::string>> list) {
  http::Headers headers;
  for (const auto& [name, value] : list) {
    headers.add(name, value);
  }
  return headers;
}

}  // namespace edge::cache
