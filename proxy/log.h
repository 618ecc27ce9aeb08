// Leveled logging to stderr. One formatted write per line so lines from workers never
// interleave. Not for the per-request hot path.
#pragma once

#include <cstdarg>

namespace edge::log {

enum class Level { Debug, Info, Warn, Error };

void setLevel(Level level);
bool enabled(Level level);
void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace edge::log

#define EDGE_LOG_INFO(...) ::edge::log::write(::edge::log::Level::Info, __VA_ARGS__)
#define EDGE_LOG_WARN(...) ::edge::log::write(::edge::log::Level::Warn, __VA_ARGS__)
#define EDGE_LOG_ERROR(...) ::edge::log::write(::edge::log::Level::Error, __VA_ARGS__)
#define EDGE_LOG_DEBUG(...)                                       \
  do {                                                            \
    if (::edge::log::enabled(::edge::log::Level::Debug)) {        \
      ::edge::log::write(::edge::log::Level::Debug, __VA_ARGS__); \
    }                                                             \
  } while (0)
