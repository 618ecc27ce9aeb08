// Which items of a batch may run now: those whose dependencies have all succeeded, at most
// `concurrency` at a time, in request order. An item whose dependency failed (status 400 or
// more) never runs: it fails with 424, and so do the items that depend on it. Pure.
#pragma once

#include <cstddef>
#include <vector>

namespace edge::filters::batch {

class Schedule {
 public:
  // depends_on[i]: the items item i waits for (no cycles: parseBatch refuses them).
  Schedule(std::vector<std::vector<size_t>> depends_on, size_t concurrency);

  // Items to start now; they count as running until finish().
  std::vector<size_t> takeReady();
  // Item `item` finished. Returns the items that can no longer run (a dependency failed),
  // which count as finished too.
  std::vector<size_t> finish(size_t item, bool succeeded);
  bool allFinished() const { return finished_ == state_.size(); }

 private:
  enum class State { Waiting, Running, Succeeded, Failed };
  bool ready(size_t item) const;

  std::vector<std::vector<size_t>> depends_on_;
  std::vector<State> state_;
  size_t concurrency_;
  size_t running_ = 0;
  size_t finished_ = 0;
};

}  // namespace edge::filters::batch
