// The high/low water marks of a write queue. A writer that finds the queue above the high
// mark waits; it hears once, when the queue has fallen below the low mark, that it may go on.
// The gap between the marks keeps a writer from waking for every few bytes written.
#pragma once

#include <cstddef>

namespace edge::net {

struct WaterMarks {
  size_t high = 256 * 1024;
  size_t low = 64 * 1024;
};

class Backpressure {
 public:
  explicit Backpressure(WaterMarks marks) : marks_(marks) {}

  // True above the high mark; the writer then waits for relieved().
  bool congested(size_t queued) {
    if (queued > marks_.high) {
      waiting_ = true;
      return true;
    }
    return false;
  }
  // True once per wait, when the queue has fallen below the low mark.
  bool relieved(size_t queued) {
    if (waiting_ && queued < marks_.low) {
      waiting_ = false;
      return true;
    }
    return false;
  }
  // The writer stopped waiting (its response ended): no relief is due.
  void forget() { waiting_ = false; }

 private:
  WaterMarks marks_;
  bool waiting_ = false;
};

}  // namespace edge::net
