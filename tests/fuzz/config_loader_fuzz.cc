// The YAML configuration loader (loadConfigString): yaml-cpp, then every section's reader
// (listen, limits, upstreams, cache, classes, routes, compression, batch, invalidation) with
// its units, ranges and cross-references.
//
// Property: the loader either returns a config and no errors or errors and no config, and
// every error says something.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/loader.h"
#include "fuzz_check.h"

namespace {

// TODO(yaml-cpp LoadAll hang): remove once the loader no longer hands such input to
// YAML::LoadAll. yaml-cpp 0.7 loops forever, allocating, when a document starts with a ','
// token (jbeder/yaml-cpp#1040, fixed upstream by #1319): ",", "!,x", "a: 1\n---\n,".
// Conservatively skips any input with a ',' outside flow brackets, quotes and comments.
bool hasBareComma(std::string_view yaml) {
  int depth = 0;
  char quote = 0;
  bool comment = false;
  for (char c : yaml) {
    if (comment) {
      comment = c != '\n';
    } else if (quote != 0) {
      quote = c == quote ? 0 : quote;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '#') {
      comment = true;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  if (hasBareComma(yaml)) {
    return 0;
  }
  const edge::config::LoadResult result = edge::config::loadConfigString(yaml, "fuzz.yaml");
  FUZZ_CHECK((result.config != nullptr) == result.errors.empty(),
             "a config together with errors, or neither");
  for (const edge::config::ConfigError& error : result.errors) {
    FUZZ_CHECK(!error.message.empty() && !error.format().empty(), "an error without a message");
  }
  return 0;
}
