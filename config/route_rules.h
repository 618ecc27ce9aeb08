// Compiles route rules into a matcher: (host, method, path) -> first matching Route.
// Pure logic: no I/O, no event loop, safe to share between threads once built.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace edge::config {

class RouteTable {
 public:
  // Keeps pointers to config.routes: `config` must outlive the table.
  explicit RouteTable(const Config& config);

  // `host` may carry a port ("api.example.com:8080"); it is ignored, as is letter case.
  // `path` is the request target's path without the query string.
  // Returns null when no route matches.
  const Route* match(std::string_view host, std::string_view method,
                     std::string_view path) const;

 private:
  // One route with everything match() needs prepared: hosts lower-cased, wildcards reduced
  // to their suffix, template paths split into segments. Matching allocates nothing.
  struct CompiledRoute {
    struct Segment {
      std::string text;  // literal segment; unused for a parameter
      bool is_param = false;
    };

    explicit CompiledRoute(const Route& source);

    const Route* route;
    std::vector<std::string> hosts;              // exact names, lower case, no brackets
    std::vector<std::string> wildcard_suffixes;  // "*.example.com" -> ".example.com"
    std::vector<Segment> segments;               // PathMatchKind::Template only

    bool matchesHost(std::string_view host) const;  // `host` already without port
    bool matchesMethod(std::string_view method) const;
    bool matchesPath(std::string_view path) const;
    bool matchesTemplate(std::string_view path) const;
  };

  std::vector<CompiledRoute> routes_;
};

}  // namespace edge::config
