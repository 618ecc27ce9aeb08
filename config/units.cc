#include "config/units.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace edge::config {
namespace {

struct Unit {
  std::string_view suffix;
  uint64_t factor;
};

// Splits "250ms" into 250 and "ms". Fails on an empty number, a sign, spaces or overflow.
bool splitNumber(std::string_view text, uint64_t& value, std::string_view& suffix) {
  const auto* begin = text.data();
  const auto* end = text.data() + text.size();
  if (begin == end || !std::isdigit(static_cast<unsigned char>(*begin))) {
    return false;
  }
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc()) {
    return false;
  }
  suffix = text.substr(static_cast<size_t>(ptr - begin));
  return true;
}

std::optional<uint64_t> scale(uint64_t value, uint64_t factor, uint64_t max) {
  if (value > max / factor) {
    return std::nullopt;
  }
  return value * factor;
}

std::string lowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool isHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

bool isIpv4(const std::string& host) {
  in_addr addr{};
  return inet_pton(AF_INET, host.c_str(), &addr) == 1;
}

bool isIpv6(const std::string& host) {
  in6_addr addr{};
  return inet_pton(AF_INET6, host.c_str(), &addr) == 1;
}

// A DNS-style name or a dotted IPv4 address. All-numeric labels must form a real IPv4
// address, so "999.1.1.1" is not taken for a name.
bool isValidName(const std::string& host) {
  if (host.empty() || host.size() > 253) {
    return false;
  }
  bool all_numeric = true;
  size_t label_start = 0;
  for (size_t i = 0; i <= host.size(); ++i) {
    if (i == host.size() || host[i] == '.') {
      const size_t label_size = i - label_start;
      if (label_size == 0 || label_size > 63) {
        return false;
      }
      label_start = i + 1;
      continue;
    }
    if (!isHostChar(host[i])) {
      return false;
    }
    all_numeric = all_numeric && std::isdigit(static_cast<unsigned char>(host[i]));
  }
  return !all_numeric || isIpv4(host);
}

std::optional<uint16_t> parsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) {
    return std::nullopt;
  }
  uint64_t value = 0;
  std::string_view rest;
  if (!splitNumber(text, value, rest) || !rest.empty() || value > 65535) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

std::optional<Millis> parseDuration(std::string_view text) {
  // Upper case is refused on purpose: "5M" could as well mean months.
  constexpr std::array<Unit, 6> kUnits{
      {{"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}};
  uint64_t value = 0;
  std::string_view suffix;
  if (!splitNumber(text, value, suffix)) {
    return std::nullopt;
  }
  const auto unit =
      std::find_if(kUnits.begin(), kUnits.end(), [&](const Unit& u) { return u.suffix == suffix; });
  if (unit == kUnits.end()) {
    return std::nullopt;
  }
  const auto max = static_cast<uint64_t>(std::numeric_limits<Millis::rep>::max());
  const auto ms = scale(value, unit->factor, max);
  if (!ms) {
    return std::nullopt;
  }
  return Millis(static_cast<Millis::rep>(*ms));
}

std::optional<uint64_t> parseByteSize(std::string_view text) {
  constexpr std::array<Unit, 7> kUnits{{{"", 1},
                                        {"k", 1ull << 10},
                                        {"kb", 1ull << 10},
                                        {"m", 1ull << 20},
                                        {"mb", 1ull << 20},
                                        {"g", 1ull << 30},
                                        {"gb", 1ull << 30}}};
  uint64_t value = 0;
  std::string_view suffix;
  if (!splitNumber(text, value, suffix)) {
    return std::nullopt;
  }
  const std::string lower = lowerAscii(suffix);
  const auto unit =
      std::find_if(kUnits.begin(), kUnits.end(), [&](const Unit& u) { return u.suffix == lower; });
  if (unit == kUnits.end()) {
    return std::nullopt;
  }
  return scale(value, unit->factor, std::numeric_limits<uint64_t>::max());
}

std::optional<HostPort> parseHostPort(std::string_view text) {
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return std::nullopt;
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    if (!isIpv6(host)) {
      return std::nullopt;
    }
  } else {
    // Exactly one colon: an unbracketed IPv6 address cannot be told apart from its port.
    const size_t colon = text.find(':');
    if (colon == std::string_view::npos || text.find(':', colon + 1) != std::string_view::npos) {
      return std::nullopt;
    }
    host = colon == 0 ? "0.0.0.0" : std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (!isValidName(host)) {
      return std::nullopt;
    }
  }
  const auto port = parsePort(port_text);
  if (!port) {
    return std::nullopt;
  }
  return HostPort{std::move(host), *port};
}

size_t editDistance(std::string_view a, std::string_view b) {
  if (a.size() < b.size()) {
    std::swap(a, b);
  }
  // Two rows of the classic table, each as long as the shorter string.
  std::vector<size_t> previous(b.size() + 1);
  std::vector<size_t> current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    previous[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace edge::config
