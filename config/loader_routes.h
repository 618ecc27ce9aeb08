// The `routes` section of the loader: match conditions, path templates and references to
// upstreams and route classes. Private to config/.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace edge::config::yaml {

// Reads `routes`; upstreams and route classes must already be in `config`. Appends the
// built-in "default" class when a route names no class and the user defined none by that name.
void readRoutes(Diagnostics& diag, const Field& field, Config& config);

}  // namespace edge::config::yaml
