// The `invalidation` (Redis subscriber) and `admin` (admin listener) sections of the loader.
// Private to config/.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace edge::config::yaml {

void readInvalidation(Diagnostics& diag, const Field& field, InvalidationConfig& invalidation);
// `listen` are the proxy's own listeners, read before: the admin listener may not take one.
void readAdmin(Diagnostics& diag, const Field& field, const std::vector<ListenConfig>& listen,
               AdminConfig& admin);

}  // namespace edge::config::yaml
