// HTTP-date (RFC 9110 5.6.7): parsed with strptime/timegm, formatted as IMF-fixdate.
#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include "lib/cache/policy.h"

namespace edge::cache {
namespace {

// Longer than any valid HTTP-date; a bound before copying into a C string.
constexpr size_t kMaxDateLength = 64;

constexpr std::array<const char*, 3> kFormats = {
    "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850:     Sunday, 06-Nov-94 08:49:37 GMT
    "%a %b %d %H:%M:%S %Y",       // asctime:     Sun Nov  6 08:49:37 1994
};

constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::optional<int64_t> parseWith(const std::string& text, const char* format) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), format, &tm);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  const int day = tm.tm_mday;
  const int month = tm.tm_mon;
  tm.tm_sec = std::min(tm.tm_sec, 59);  // a leap second must not roll into the next day
  const time_t seconds = timegm(&tm);
  // timegm turns 31 Feb into 3 Mar; such a date is invalid, not a synonym.
  if (tm.tm_mday != day || tm.tm_mon != month) {
    return std::nullopt;
  }
  return static_cast<int64_t>(seconds) * 1000;
}

}  // namespace

std::optional<int64_t> parseHttpDate(std::string_view text) {
  text = trim(text);
  if (text.empty() || text.size() > kMaxDateLength) {
    return std::nullopt;
  }
  const std::string copy(text);
  for (const char* format : kFormats) {
    if (std::optional<int64_t> parsed = parseWith(copy, format)) {
      return parsed;
    }
  }
  return std::nullopt;
}

std::string formatHttpDate(int64_t epoch_ms) {
  // Floor, so that times before the epoch do not round up to the next second.
  const int64_t seconds = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
  const time_t t = static_cast<time_t>(seconds);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) {
    return {};
  }
  // Names from tables rather than strftime, which would follow the process locale.
  std::array<char, 96> buffer{};
  std::snprintf(buffer.data(), buffer.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                kDays[static_cast<size_t>(tm.tm_wday)], tm.tm_mday,
                kMonths[static_cast<size_t>(tm.tm_mon)], tm.tm_year + 1900, tm.tm_hour,
                tm.tm_min, tm.tm_sec);
  return std::string(buffer.data());
}

}  // namespace edge::cache
