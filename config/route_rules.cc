#include "config/route_rules.h"

#include <algorithm>
#include <cctype>

namespace edge::config {
namespace {

char lowerAscii(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

// `lower` is already lower case, so only the request side needs folding.
bool equalsIgnoreCase(std::string_view text, std::string_view lower) {
  if (text.size() != lower.size()) {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (lowerAscii(text[i]) != lower[i]) {
      return false;
    }
  }
  return true;
}

// "Example.COM:8080" -> "Example.COM", "[::1]:8080" -> "::1". A trailing dot names the same
// host, so it goes too. An unbracketed IPv6 address (several colons) is left alone.
std::string_view hostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    const size_t close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(1, close - 1);
  }
  const size_t colon = host.find(':');
  if (colon != std::string_view::npos && host.find(':', colon + 1) == std::string_view::npos) {
    host = host.substr(0, colon);
  }
  if (!host.empty() && host.back() == '.') {
    host.remove_suffix(1);
  }
  return host;
}

std::string normalizedHost(std::string_view host) {
  std::string out(hostWithoutPort(host));
  std::transform(out.begin(), out.end(), out.begin(), lowerAscii);
  return out;
}

}  // namespace

RouteTable::RouteTable(const Config& config) {
  routes_.reserve(config.routes.size());
  for (const auto& route : config.routes) {
    routes_.emplace_back(route);
  }
}

RouteTable::CompiledRoute::CompiledRoute(const Route& source) : route(&source) {
  for (const auto& host : source.match.hosts) {
    if (host.rfind("*.", 0) == 0) {
      wildcard_suffixes.push_back(normalizedHost(std::string_view(host).substr(1)));
    } else {
      hosts.push_back(normalizedHost(host));
    }
  }
  if (source.match.path_kind != PathMatchKind::Template) {
    return;
  }
  // Segments follow the leading "/": "/a/{id}" -> "a", {id}.
  std::string_view rest = source.match.path;
  rest.remove_prefix(rest.empty() ? 0 : 1);
  while (true) {
    const size_t slash = rest.find('/');
    const std::string_view segment = rest.substr(0, slash);
    const bool is_param = segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
    segments.push_back({is_param ? std::string() : std::string(segment), is_param});
    if (slash == std::string_view::npos) {
      return;
    }
    rest.remove_prefix(slash + 1);
  }
}

const Route* RouteTable::match(std::string_view host, std::string_view method,
                               std::string_view path) const {
  const std::string_view bare_host = hostWithoutPort(host);
  for (const auto& compiled : routes_) {
    if (compiled.matchesMethod(method) && compiled.matchesPath(path) &&
        compiled.matchesHost(bare_host)) {
      return compiled.route;
    }
  }
  return nullptr;
}

bool RouteTable::CompiledRoute::matchesHost(std::string_view host) const {
  if (hosts.empty() && wildcard_suffixes.empty()) {
    return true;
  }
  for (const auto& name : hosts) {
    if (equalsIgnoreCase(host, name)) {
      return true;
    }
  }
  // ".example.com" must leave at least one label in front, so example.com itself is out.
  for (const auto& suffix : wildcard_suffixes) {
    if (host.size() > suffix.size() &&
        equalsIgnoreCase(host.substr(host.size() - suffix.size()), suffix)) {
      return true;
    }
  }
  return false;
}

bool RouteTable::CompiledRoute::matchesMethod(std::string_view method) const {
  const auto& methods = route->match.methods;
  return methods.empty() || std::find(methods.begin(), methods.end(), method) != methods.end();
}

bool RouteTable::CompiledRoute::matchesPath(std::string_view path) const {
  switch (route->match.path_kind) {
    case PathMatchKind::Any:
      return true;
    case PathMatchKind::Exact:
      return path == route->match.path;
    case PathMatchKind::Prefix:
      return path.substr(0, route->match.path.size()) == route->match.path;
    case PathMatchKind::Template:
      return matchesTemplate(path);
  }
  return false;
}

bool RouteTable::CompiledRoute::matchesTemplate(std::string_view path) const {
  if (path.empty() || path.front() != '/') {
    return false;
  }
  path.remove_prefix(1);
  for (size_t i = 0; i < segments.size(); ++i) {
    const size_t slash = path.find('/');
    const std::string_view segment = path.substr(0, slash);
    const bool last = i + 1 == segments.size();
    // The request must have exactly as many segments: no fewer, and no trailing "/" or more.
    if (last != (slash == std::string_view::npos)) {
      return false;
    }
    if (segments[i].is_param ? segment.empty() : segment != segments[i].text) {
      return false;
    }
    path.remove_prefix(last ? path.size() : slash + 1);
  }
  return true;
}

}  // namespace edge::config
