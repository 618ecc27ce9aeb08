#include "config/loader_routes.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace edge::config::yaml {
namespace {

constexpr std::string_view kDefaultClass = "default";
constexpr size_t kMaxListedNames = 8;

bool isAlnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

bool isIdentifier(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) { return isAlnum(c) || c == '_'; });
}

bool isHostName(std::string_view name) {
  size_t label = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
    } else if (isAlnum(name[i]) || name[i] == '-' || name[i] == '_') {
      ++label;
    } else {
      return false;
    }
  }
  return true;
}

bool isIpv6(std::string_view host) {
  in6_addr address{};
  return inet_pton(AF_INET6, std::string(host).c_str(), &address) == 1;
}

// The host as stored (IPv6 without brackets), or nullopt after reporting the problem.
std::optional<std::string> checkHost(Diagnostics& diag, const Field& field, std::string host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (isIpv6(host)) {
    return host;
  }
  if (std::count(host.begin(), host.end(), ':') == 1) {
    diag.add(field,
             "a route host takes no port (the Host header's port is ignored), got " + quote(host));
    return std::nullopt;
  }
  const std::string_view name =
      host.rfind("*.", 0) == 0 ? std::string_view(host).substr(2) : std::string_view(host);
  if (!isHostName(name)) {
    diag.expected(field, "a host name, optionally as a wildcard like *.example.com");
    return std::nullopt;
  }
  return host;
}

// Empty when `path` is a valid exact path or template; otherwise what is wrong with it.
std::string templateProblem(std::string_view path, bool& is_template) {
  std::vector<std::string_view> names;
  size_t start = 1;
  while (start <= path.size()) {
    const size_t slash = std::min(path.find('/', start), path.size());
    const std::string_view segment = path.substr(start, slash - start);
    start = slash + 1;
    if (segment.find_first_of("{}") == std::string_view::npos) {
      continue;
    }
    is_template = true;
    const std::string_view name = segment.substr(1, segment.size() - 2);
    if (segment.size() < 3 || segment.front() != '{' || segment.back() != '}' ||
        !isIdentifier(name)) {
      return "expected each {param} to be a whole segment with a name, like /items/{id}";
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      return "parameter {" + std::string(name) + "} appears twice";
    }
    names.push_back(name);
  }
  return "";
}

std::optional<std::string> readPathText(Diagnostics& diag, const Field& field) {
  auto path = readString(diag, field);
  if (!path) {
    return std::nullopt;
  }
  if (path->front() != '/') {
    diag.expected(field, "a path starting with \"/\"");
    return std::nullopt;
  }
  const auto bad = std::find_if(path->begin(), path->end(), [](char c) {
    return std::isspace(static_cast<unsigned char>(c)) || c == '?' || c == '#';
  });
  if (bad != path->end()) {
    diag.expected(field, "a path without spaces, query or fragment");
    return std::nullopt;
  }
  return path;
}

std::string unknownReference(std::string_view kind, const std::string& name,
                             const std::vector<std::string>& names) {
  std::string message = "unknown " + std::string(kind) + " " + quote(name);
  if (const auto guess = closestName(name, names)) {
    return message + " (did you mean " + quote(*guess) + "?)";
  }
  if (names.empty()) {
    return message + " (none is defined)";
  }
  std::string listed;
  for (size_t i = 0; i < names.size() && i < kMaxListedNames; ++i) {
    listed += (i == 0 ? "" : ", ") + names[i];
  }
  return message + " (defined: " + listed + (names.size() > kMaxListedNames ? ", ..." : "") + ")";
}

std::optional<size_t> indexOf(const std::vector<std::string>& names, std::string_view name) {
  const auto found = std::find(names.begin(), names.end(), name);
  if (found == names.end()) {
    return std::nullopt;
  }
  return static_cast<size_t>(found - names.begin());
}

template <typename T>
std::vector<std::string> namesOf(const std::vector<T>& items) {
  std::vector<std::string> names;
  for (const auto& item : items) {
    names.push_back(item.name);
  }
  return names;
}

class RoutesReader {
 public:
  RoutesReader(Diagnostics& diag, Config& config)
      : diag_(diag),
        config_(config),
        upstreams_(namesOf(config.upstreams)),
        classes_(namesOf(config.route_classes)) {}

  void readRoute(const Field& field);
  void readUpgrade(const Field& field, std::vector<std::string>& tokens);
  // Gives the routes that named no class the "default" one, adding it if the user has none.
  void assignDefaultClass();

 private:
  void readMatch(const Field& field, RouteMatch& match);
  void readHosts(const MapFields& map, RouteMatch& match);
  void readPath(const MapFields& map, RouteMatch& match);
  void readMethods(const Field& field, RouteMatch& match);
  std::optional<size_t> resolve(const Field& field, std::string_view kind,
                                const std::vector<std::string>& names);
  // "class: default" with no user class of that name asks for the built-in one.
  bool namesBuiltInDefault(const Field& field) const {
    return field.node.IsScalar() && field.node.Scalar() == kDefaultClass &&
           !indexOf(classes_, kDefaultClass);
  }

  Diagnostics& diag_;
  Config& config_;
  std::vector<std::string> upstreams_;
  std::vector<std::string> classes_;
  std::vector<size_t> without_class_;  // indexes into config_.routes
};

void RoutesReader::readRoute(const Field& field) {
  Route route;
  route.source_line = oneBased(field.mark().line);
  const MapFields map(diag_, field, {"match", "upstream", "class", "upgrade"});
  if (const auto match = map.get("match")) {
    readMatch(*match, route.match);
  }
  if (const auto upstream = map.require("upstream")) {
    route.upstream_index = resolve(*upstream, "upstream", upstreams_).value_or(0);
  }
  const auto route_class = map.get("class");
  if (route_class && !namesBuiltInDefault(*route_class)) {
    route.class_index = resolve(*route_class, "route class", classes_).value_or(0);
  } else {
    without_class_.push_back(config_.routes.size());
  }
  if (const auto upgrade = map.get("upgrade")) {
    readUpgrade(*upgrade, route.upgrade);
  }
  config_.routes.push_back(std::move(route));
}

void RoutesReader::readUpgrade(const Field& field, std::vector<std::string>& tokens) {
  const auto items = listItems(diag_, field, "a list of Upgrade protocols like [websocket]");
  if (!items) {
    return;
  }
  tokens.clear();
  for (const Field& item : *items) {
    const auto token = readString(diag_, item);
    if (token && !isToken(*token)) {
      diag_.expected(item, "an Upgrade protocol name (an HTTP token, like websocket)");
    } else if (token) {
      tokens.push_back(lowerAscii(*token));
    }
  }
}

std::optional<size_t> RoutesReader::resolve(const Field& field, std::string_view kind,
                                            const std::vector<std::string>& names) {
  const auto name = readString(diag_, field);
  if (!name) {
    return std::nullopt;
  }
  const auto index = indexOf(names, *name);
  if (!index) {
    diag_.add(field, unknownReference(kind, *name, names));
  }
  return index;
}

void RoutesReader::readMatch(const Field& field, RouteMatch& match) {
  const MapFields map(diag_, field, {"host", "hosts", "path", "path_prefix", "methods"});
  readHosts(map, match);
  readPath(map, match);
  if (const auto methods = map.get("methods")) {
    readMethods(*methods, match);
  }
}

void RoutesReader::readHosts(const MapFields& map, RouteMatch& match) {
  const auto host = map.get("host");
  const auto hosts = map.get("hosts");
  if (host && hosts) {
    diag_.add(*hosts, "give either host or hosts, not both");
    return;
  }
  std::vector<Field> items;
  if (host) {
    items.push_back(*host);
  } else if (hosts) {
    items = listItems(diag_, *hosts, "a list of host names").value_or(items);
    if (items.empty() && hosts->node.IsSequence()) {
      diag_.expected(*hosts, "at least one host name");
    }
  }
  for (const auto& item : items) {
    auto text = readString(diag_, item);
    auto checked = text ? checkHost(diag_, item, std::move(*text)) : std::nullopt;
    if (checked) {
      match.hosts.push_back(std::move(*checked));
    }
  }
}

void RoutesReader::readPath(const MapFields& map, RouteMatch& match) {
  const auto exact = map.get("path");
  const auto prefix = map.get("path_prefix");
  if (exact && prefix) {
    diag_.add(*prefix, "give either path or path_prefix, not both");
    return;
  }
  if (prefix) {
    auto text = readPathText(diag_, *prefix);
    if (text && text->find_first_of("{}") != std::string::npos) {
      diag_.add(*prefix, "path_prefix is matched literally; use path for a {param} template");
    } else if (text) {
      match.path_kind = PathMatchKind::Prefix;
      match.path = std::move(*text);
    }
  } else if (exact) {
    auto text = readPathText(diag_, *exact);
    bool is_template = false;
    const std::string problem = text ? templateProblem(*text, is_template) : "";
    if (!problem.empty()) {
      diag_.add(*exact, problem + ", got " + quote(*text));
    } else if (text) {
      match.path_kind = is_template ? PathMatchKind::Template : PathMatchKind::Exact;
      match.path = std::move(*text);
    }
  }
}

void RoutesReader::readMethods(const Field& field, RouteMatch& match) {
  const auto items = listItems(diag_, field, "a list of HTTP methods like [GET, HEAD]");
  if (items && items->empty()) {
    diag_.expected(field, "at least one method (leave methods out to match any)");
  }
  for (const auto& item : items.value_or(std::vector<Field>{})) {
    if (!item.node.IsScalar() || !isToken(item.node.Scalar())) {
      diag_.expected(item, "an HTTP method like GET");
      continue;
    }
    std::string method = item.node.Scalar();
    std::transform(method.begin(), method.end(), method.begin(), [](char c) {
      return static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    });
    match.methods.push_back(std::move(method));
  }
}

void RoutesReader::assignDefaultClass() {
  if (without_class_.empty()) {
    return;
  }
  auto index = indexOf(classes_, kDefaultClass);
  if (!index) {
    index = config_.route_classes.size();
    RouteClass default_class;  // RFC 9111 defaults: the origin's headers decide
    default_class.name = std::string(kDefaultClass);
    config_.route_classes.push_back(std::move(default_class));
  }
  for (const size_t route : without_class_) {
    config_.routes[route].class_index = *index;
  }
}

}  // namespace

void readRoutes(Diagnostics& diag, const Field& field, Config& config) {
  const auto items = listItems(diag, field, "a list of routes");
  if (!items) {
    return;
  }
  if (items->empty()) {
    diag.expected(field, "at least one route");
  }
  RoutesReader reader(diag, config);
  for (const auto& item : *items) {
    reader.readRoute(item);
  }
  reader.assignDefaultClass();
}

}  // namespace edge::config::yaml
