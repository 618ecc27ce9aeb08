// Problems found while turning typed config into runtime objects (reading certificate files),
// reported like the loader's: file:line:col: key.path: message. Warnings do not stop a start.
#pragma once

#include <string>
#include <vector>

#include "config/loader.h"
#include "config/tls_config.h"

namespace edge::tls {

struct ConfigReport {
  std::vector<config::ConfigError> errors;
  std::vector<config::ConfigError> warnings;

  void error(const std::string& file, const config::ConfigPlace& place, std::string message) {
    errors.push_back({file, place.line, place.column, place.key_path, std::move(message)});
  }
  void warning(const std::string& file, const config::ConfigPlace& place, std::string message) {
    warnings.push_back({file, place.line, place.column, place.key_path, std::move(message)});
  }
};

}  // namespace edge::tls
