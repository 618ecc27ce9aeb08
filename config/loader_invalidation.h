// The `invalidation` (Redis subscriber) and `admin` (admin listener) sections of the loader.
// Private to config/.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace edge::config::yaml {

void readInvalidation(Diagnostics& diag, const Field& field, InvalidationConfig& invalidation);
void readAdmin(Diagnostics& diag, const Field& field, AdminConfig& admin);

}  // namespace edge::config::yaml
