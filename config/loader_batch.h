// The `batch` section of the loader: where batch requests are taken and their limits.
// Private to config/.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace edge::config::yaml {

void readBatch(Diagnostics& diag, const Field& field, BatchConfig& batch);

}  // namespace edge::config::yaml
