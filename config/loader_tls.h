// The `listen` section (plain and TLS listeners) and an upstream's `tls` section.
#pragma once

#include <optional>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace edge::config::yaml {

void readListen(Diagnostics& diag, const Field& field, Config& config);
// Unset when the section has `enabled: false` (or is not a map, reported).
std::optional<UpstreamTlsConfig> readUpstreamTls(Diagnostics& diag, const Field& field);

}  // namespace edge::config::yaml
