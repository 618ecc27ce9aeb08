#include "filters/batch/batch_schedule.h"

#include <algorithm>

namespace edge::filters::batch {

Schedule::Schedule(std::vector<std::vector<size_t>> depends_on, size_t concurrency)
    : depends_on_(std::move(depends_on)),
      state_(depends_on_.size(), State::Waiting),
      concurrency_(std::max<size_t>(1, concurrency)) {}

bool Schedule::ready(size_t item) const {
  return std::all_of(depends_on_[item].begin(), depends_on_[item].end(),
                     [&](size_t dep) { return state_[dep] == State::Succeeded; });
}

std::vector<size_t> Schedule::takeReady() {
  std::vector<size_t> start;
  for (size_t i = 0; i < state_.size() && running_ < concurrency_; ++i) {
    if (state_[i] == State::Waiting && ready(i)) {
      state_[i] = State::Running;
      ++running_;
      start.push_back(i);
    }
  }
  return start;
}

std::vector<size_t> Schedule::finish(size_t item, bool succeeded) {
  if (state_[item] == State::Running) {
    --running_;
  }
  state_[item] = succeeded ? State::Succeeded : State::Failed;
  ++finished_;
  std::vector<size_t> failed;
  if (succeeded) {
    return failed;
  }
  // Waiting items that depend on a failed one fail too, transitively.
  bool changed = true;
  while (changed) {
    changed = false;
    for (size_t i = 0; i < state_.size(); ++i) {
      if (state_[i] != State::Waiting) {
        continue;
      }
      const bool blocked = std::any_of(depends_on_[i].begin(), depends_on_[i].end(),
                                       [&](size_t dep) { return state_[dep] == State::Failed; });
      if (blocked) {
        state_[i] = State::Failed;
        ++finished_;
        failed.push_back(i);
        changed = true;
      }
    }
  }
  return failed;
}

}  // namespace edge::filters::batch
