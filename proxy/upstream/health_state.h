// The thresholds of active health checks, as pure logic: a server starts healthy, turns
// unhealthy after `unhealthy_threshold` failed checks in a row and healthy again after
// `healthy_threshold` passed checks in a row.
#pragma once

#include <cstdint>

namespace edge::upstream {

class HealthState {
 public:
  HealthState(uint32_t healthy_threshold, uint32_t unhealthy_threshold)
      : healthy_threshold_(healthy_threshold == 0 ? 1 : healthy_threshold),
        unhealthy_threshold_(unhealthy_threshold == 0 ? 1 : unhealthy_threshold) {}

  // Records one check; true when it changed healthy().
  bool record(bool passed) {
    if (passed) {
      failures_ = 0;
      ++successes_;
      if (!healthy_ && successes_ >= healthy_threshold_) {
        healthy_ = true;
        return true;
      }
      return false;
    }
    successes_ = 0;
    ++failures_;
    if (healthy_ && failures_ >= unhealthy_threshold_) {
      healthy_ = false;
      return true;
    }
    return false;
  }

  bool healthy() const { return healthy_; }
  uint32_t consecutiveSuccesses() const { return successes_; }
  uint32_t consecutiveFailures() const { return failures_; }

 private:
  uint32_t healthy_threshold_;
  uint32_t unhealthy_threshold_;
  uint32_t successes_ = 0;
  uint32_t failures_ = 0;
  bool healthy_ = true;
};

}  // namespace edge::upstream
