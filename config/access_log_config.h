// The access log: where lines go, in which format, how many requests, how they are buffered.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace edge::config {

struct AccessLogConfig {
  enum class Format { Json, Combined };

  bool enabled = true;       // the section is present; `enabled: false` turns it off
  std::string path = "-";    // a file (opened O_APPEND, reopened on SIGUSR1), or "-"/"stdout"
  Format format = Format::Json;
  double sample = 1.0;       // fraction of requests logged; 5xx responses are always logged
  std::chrono::milliseconds flush_interval{1000};  // the writer's pace
  uint64_t buffer_size = 1ull << 20;  // per worker; lines beyond it are counted as dropped

  bool toStdout() const { return path == "-" || path == "stdout"; }

  bool operator==(const AccessLogConfig&) const = default;
};

}  // namespace edge::config
