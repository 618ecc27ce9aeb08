// The `compression` section of the loader: which responses are compressed and how hard.
// Private to config/.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace edge::config::yaml {

void readCompression(Diagnostics& diag, const Field& field, CompressionConfig& compression);

}  // namespace edge::config::yaml
