// Helpers the config tests share: the example config, a minimal valid config with a section
// spliced in, loading a document, and its errors in the "file:line:col: key.path: message" form
// users see.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"

namespace edge::config::test_support {

inline const std::string kExamplePath = EDGE_SOURCE_DIR "/config/examples/edge.yaml";

inline std::vector<std::string> formatted(const LoadResult& result) {
  std::vector<std::string> out;
  for (const auto& error : result.errors) {
    out.push_back(error.format());
  }
  return out;
}

// A whole document, named test.yaml in its errors.
inline LoadResult loadYaml(const std::string& yaml) { return loadConfigString(yaml, "test.yaml"); }

// Loads a whole document, expects failure and returns the formatted errors.
inline std::vector<std::string> yamlErrors(const std::string& yaml) {
  const LoadResult result = loadYaml(yaml);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.config, nullptr);
  return formatted(result);
}

// A valid config with `extra` spliced in at line 5, before the routes.
inline std::string minimal(const std::string& extra = "") {
  return "listen: 127.0.0.1:8080\n"
         "upstreams:\n"
         "  app:\n"
         "    servers: [127.0.0.1:3000]\n" +
         extra +
         "routes:\n"
         "  - upstream: app\n";
}

inline LoadResult load(const std::string& extra) { return loadYaml(minimal(extra)); }

// Loads a config with `extra`, expects failure and returns the formatted errors.
inline std::vector<std::string> errorsOf(const std::string& extra) {
  return yamlErrors(minimal(extra));
}

// The config with `extra`, which must load; null (the first error reported) when it does not.
inline ConfigPtr loaded(const std::string& extra) {
  const LoadResult result = load(extra);
  EXPECT_TRUE(result.ok()) << (result.errors.empty() ? "" : result.errors[0].format());
  return result.config;
}

}  // namespace edge::config::test_support
