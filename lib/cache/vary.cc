// Vary (RFC 9111 4.1): which request headers select a variant, and their normalised values.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "lib/cache/policy.h"

namespace edge::cache {
namespace {

bool isOws(char c) { return c == ' ' || c == '\t'; }

using http::trimOws;

char toLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lowerCase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), toLower);
  return out;
}

// Calls fn(item) for each non-empty element of a comma-separated list.
template <typename Fn>
void forEachItem(std::string_view list, Fn&& fn) {
  while (!list.empty()) {
    const size_t comma = std::min(list.find(','), list.size());
    const std::string_view item = trimOws(list.substr(0, comma));
    if (!item.empty()) {
      fn(item);
    }
    list.remove_prefix(std::min(comma + 1, list.size()));
  }
}

// qvalue (RFC 9110 12.4.2) of zero: "0", "0.", "0.000". Anything else, even malformed, is
// read as acceptable: a client that lists a coding presumably wants it.
bool isZeroQuality(std::string_view q) {
  q = trimOws(q);
  if (q.empty() || q.front() != '0') {
    return false;
  }
  q.remove_prefix(1);
  if (q.empty()) {
    return true;
  }
  return q.front() == '.' && q.find_first_not_of('0', 1) == std::string_view::npos;
}

// "gzip;q=0.5" -> ("gzip", true); "br; q=0" -> ("br", false).
std::pair<std::string_view, bool> codingAndAcceptable(std::string_view item) {
  const size_t semicolon = std::min(item.find(';'), item.size());
  const std::string_view coding = trimOws(item.substr(0, semicolon));
  bool acceptable = true;
  std::string_view params = item.substr(semicolon);
  while (!params.empty()) {
    params.remove_prefix(1);  // the ';'
    const size_t next = std::min(params.find(';'), params.size());
    const std::string_view param = params.substr(0, next);
    const size_t equals = param.find('=');
    if (equals != std::string_view::npos && http::iequals(trimOws(param.substr(0, equals)), "q")) {
      acceptable = !isZeroQuality(param.substr(equals + 1));
    }
    params.remove_prefix(next);
  }
  return {coding, acceptable};
}

// RFC 9110 12.5.3: "*" stands for every coding not listed; the first listing of one counts.
std::string normaliseAcceptEncoding(std::string_view value) {
  std::optional<bool> br;
  std::optional<bool> gzip;
  std::optional<bool> any;
  forEachItem(value, [&](std::string_view item) {
    const auto [coding, acceptable] = codingAndAcceptable(item);
    std::optional<bool>* slot = nullptr;
    if (http::iequals(coding, "br")) {
      slot = &br;
    } else if (http::iequals(coding, "gzip") || http::iequals(coding, "x-gzip")) {
      slot = &gzip;
    } else if (coding == "*") {
      slot = &any;
    }
    if (slot != nullptr && !slot->has_value()) {
      *slot = acceptable;
    }
  });
  if (br.value_or(any.value_or(false))) {
    return "br";
  }
  if (gzip.value_or(any.value_or(false))) {
    return "gzip";
  }
  return "identity";
}

// Lower case, trimmed, each run of white space as one space.
std::string normaliseText(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : trimOws(value)) {
    if (isOws(c)) {
      pending_space = true;
      continue;
    }
    if (pending_space) {
      out.push_back(' ');
      pending_space = false;
    }
    out.push_back(toLower(c));
  }
  return out;
}

bool classAllows(const config::RouteClass& route_class, std::string_view name) {
  return std::any_of(route_class.vary.begin(), route_class.vary.end(),
                     [&](const std::string& allowed) { return http::iequals(allowed, name); });
}

}  // namespace

std::optional<std::vector<std::string>> varyHeaders(const http::Headers& response_headers,
                                                   const config::RouteClass& route_class) {
  std::vector<std::string> names;
  bool storable = true;
  for (const http::Header& header : response_headers) {
    if (!http::iequals(header.name, "vary")) {
      continue;
    }
    forEachItem(header.value, [&](std::string_view item) {
      if (item == "*" || !classAllows(route_class, item)) {
        storable = false;
      } else {
        names.push_back(lowerCase(item));
      }
    });
  }
  if (!storable) {
    return std::nullopt;
  }
  // Sorted and unique, so "Vary: b, a" and "Vary: a, b, a" select variants the same way.
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string normaliseVaryValue(std::string_view header_name, const std::string* value) {
  if (http::iequals(header_name, "accept-encoding")) {
    return value == nullptr ? "identity" : normaliseAcceptEncoding(*value);
  }
  return value == nullptr ? std::string() : normaliseText(*value);
}

}  // namespace edge::cache
