#include "lib/cache/tags.h"

#include <algorithm>
#include <optional>

namespace edge::cache {
namespace {

std::optional<std::string> pathSegment(std::string_view target, size_t index) {
  std::string_view path = target.substr(0, target.find('?'));
  size_t n = 0;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    size_t slash = path.find('/');
    if (++n == index) {
      return std::string(path.substr(0, slash));
    }
    if (slash == std::string_view::npos) {
      break;
    }
    path.remove_prefix(slash);
  }
  return std::nullopt;
}

std::optional<std::string> queryValue(std::string_view target, std::string_view name) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    return std::nullopt;
  }
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    size_t eq = item.find('=');
    if (item.substr(0, eq) == name && eq != std::string_view::npos && eq + 1 < item.size()) {
      return std::string(item.substr(eq + 1));
    }
    if (amp == std::string_view::npos) {
      break;
    }
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::optional<std::string> placeholderValue(std::string_view placeholder, const TagSource& src) {
  if (placeholder.starts_with("header.")) {
    std::string value = src.request_headers->joined(placeholder.substr(7));
    return value.empty() ? std::nullopt : std::optional<std::string>(value);
  }
  if (placeholder.starts_with("path.")) {
    size_t index = 0;
    for (char c : placeholder.substr(5)) {
      index = index * 10 + static_cast<size_t>(c - '0');
    }
    return pathSegment(src.target, index);
  }
  if (placeholder.starts_with("query.")) {
    return queryValue(src.target, placeholder.substr(6));
  }
  return std::nullopt;  // the loader rejects anything else
}

std::optional<std::string> expandTemplate(std::string_view tmpl, const TagSource& src) {
  std::string out;
  while (!tmpl.empty()) {
    size_t open = tmpl.find('{');
    out.append(tmpl.substr(0, open));
    if (open == std::string_view::npos) {
      break;
    }
    size_t close = tmpl.find('}', open);
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    std::optional<std::string> value = placeholderValue(tmpl.substr(open + 1, close - open - 1), src);
    if (!value) {
      return std::nullopt;
    }
    out.append(*value);
    tmpl.remove_prefix(close + 1);
  }
  return out;
}

void addSplit(std::vector<std::string>& tags, std::string_view value, char separator) {
  while (!value.empty()) {
    size_t sep = value.find(separator);
    std::string_view item = http::trimOws(value.substr(0, sep));
    if (!item.empty()) {
      tags.emplace_back(item);
    }
    if (sep == std::string_view::npos) {
      break;
    }
    value.remove_prefix(sep + 1);
  }
}

}  // namespace

std::vector<std::string> expandTags(const config::RouteClass& route_class, const TagSource& source) {
  std::vector<std::string> tags;
  for (const std::string& tmpl : route_class.tags) {
    if (std::optional<std::string> tag = expandTemplate(tmpl, source)) {
      tags.push_back(std::move(*tag));
    }
  }
  for (const http::Header& h : *source.response_headers) {
    if (http::iequals(h.name, "surrogate-key")) {
      addSplit(tags, h.value, ' ');
    } else if (http::iequals(h.name, "cache-tag")) {
      addSplit(tags, h.value, ',');
    }
  }
  std::vector<std::string> unique;
  for (std::string& tag : tags) {
    if (std::find(unique.begin(), unique.end(), tag) == unique.end()) {
      unique.push_back(std::move(tag));
    }
  }
  return unique;
}

}  // namespace edge::cache
