// The `access_log` section of the loader. Private to config/.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace edge::config::yaml {

void readAccessLog(Diagnostics& diag, const Field& field, AccessLogConfig& log);

}  // namespace edge::config::yaml
