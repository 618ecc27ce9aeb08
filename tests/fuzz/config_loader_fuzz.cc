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

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view yaml(reinterpret_cast<const char*>(data), size);
  const edge::config::LoadResult result = edge::config::loadConfigString(yaml, "fuzz.yaml");
  FUZZ_CHECK((result.config != nullptr) == result.errors.empty(),
             "a config together with errors, or neither");
  for (const edge::config::ConfigError& error : result.errors) {
    FUZZ_CHECK(!error.message.empty() && !error.format().empty(), "an error without a message");
  }
  return 0;
}
