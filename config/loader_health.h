// An upstream's `health_check` section and its `resolve_interval`. Private to config/.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace edge::config::yaml {

HealthCheckConfig readHealthCheck(Diagnostics& diag, const Field& field);

}  // namespace edge::config::yaml
