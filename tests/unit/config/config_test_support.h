// Helpers the config tests share: a minimal valid config with a section spliced in, loading it,
// and its errors in the "file:line:col: key.path: message" form users see.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"

namespace edge::config::test_support {

inline std::vector<std::string> formatted(const LoadResult& result) {
  std::vector<std::string> out;
  for (const auto& error : result.errors) {
    out.push_back(error.format());
  }
  return out;
}

// A valid config with `extra` spliced in at line 5, before the routes.
inline std::string minimal(const std::string& extra) {
  return "listen: 127.0.0.1:8080\n"
         "upstreams:\n"
         "  app:\n"
         "    servers: [127.0.0.1:3000]\n" +
         extra +
         "routes:\n"
         "  - upstream: app\n";
}

inline LoadResult load(const std::string& extra) {
  return loadConfigString(minimal(extra), "test.yaml");
}

// Loads a config with `extra`, expects failure and returns the formatted errors.
inline std::vector<std::string> errorsOf(const std::string& extra) {
  const LoadResult result = load(extra);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.config, nullptr);
  return formatted(result);
}

}  // namespace edge::config::test_support
