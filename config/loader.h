// YAML file -> Config. Every problem found is reported (not only the first) with file, line,
// column, the key path and what was expected, in the style of compiler diagnostics.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace edge::config {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string key_path;  // e.g. "routes[2].upstream"
  std::string message;   // e.g. "unknown upstream \"ap\" (did you mean \"app\"?)"

  // "edge.yaml:12:5: routes[2].upstream: unknown upstream ..."
  std::string format() const;
};

struct LoadResult {
  ConfigPtr config;                 // null when errors is non-empty
  std::vector<ConfigError> errors;
  bool ok() const { return errors.empty() && config != nullptr; }
};

LoadResult loadConfigFile(const std::string& path);
LoadResult loadConfigString(std::string_view yaml, const std::string& source_name);

}  // namespace edge::config
