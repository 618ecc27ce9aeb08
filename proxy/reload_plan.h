// Which listening sockets a reload keeps: pure, so it is tested without sockets.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "config/config.h"

namespace edge {

// For each listener of the new config: the index of the old listener with the same address
// (as written, so "127.0.0.1:0" keeps the free port it was given), or nullopt for a socket to
// open. Each old listener is kept at most once; the ones no entry names are to be closed.
std::vector<std::optional<size_t>> planListeners(const std::vector<config::ListenConfig>& old_listen,
                                                 const std::vector<config::ListenConfig>& new_listen);

}  // namespace edge
