// Compiles route rules into a matcher: (host, method, path) -> first matching Route.
// Pure logic: no I/O, no event loop, safe to share between threads once built.
#pragma once

#include <string_view>
#include <vector>

#include "config/config.h"

namespace edge::config {

class RouteTable {
 public:
  explicit RouteTable(const Config& config);

  // `host` may carry a port ("api.example.com:8080"); it is ignored, as is letter case.
  // `path` is the request target's path without the query string.
  // Returns null when no route matches.
  const Route* match(std::string_view host, std::string_view method,
                     std::string_view path) const;

 private:
  struct CompiledRoute;
  std::vector<CompiledRoute> routes_;
};

}  // namespace edge::config
