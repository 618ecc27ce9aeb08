// The `route_classes` section of the loader: caching policy per class, cache-key
// dimensions, Vary allow-list, statuses and tag templates. Private to config/.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace edge::config::yaml {

void readRouteClasses(Diagnostics& diag, const Field& field, Config& config);

}  // namespace edge::config::yaml
