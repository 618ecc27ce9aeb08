#include "proxy/reload_plan.h"

namespace edge {

std::vector<std::optional<size_t>> planListeners(const std::vector<config::ListenConfig>& old_listen,
                                                 const std::vector<config::ListenConfig>& new_listen) {
  std::vector<bool> taken(old_listen.size(), false);
  std::vector<std::optional<size_t>> plan;
  for (const config::ListenConfig& wanted : new_listen) {
    std::optional<size_t> keep;
    for (size_t i = 0; i < old_listen.size(); ++i) {
      if (!taken[i] && old_listen[i].address == wanted.address) {
        taken[i] = true;
        keep = i;
        break;
      }
    }
    plan.push_back(keep);
  }
  return plan;
}

}  // namespace edge
