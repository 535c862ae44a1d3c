// A Clock whose sleeps return at once and are recorded, for retry loops whose delays a test
// wants to check without waiting for them.
#pragma once

#include <mutex>
#include <vector>

#include "common/clock.h"

namespace berth::testing {

class InstantClock final : public Clock {
 public:
  time_point now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  bool sleep_until(time_point deadline, std::stop_token stop) override {
    std::lock_guard lock(mu_);
    if (stop.stop_requested()) return false;
    sleeps_.push_back(deadline - now_);
    if (deadline > now_) now_ = deadline;
    return true;
  }
  std::vector<duration> sleeps() const {
    std::lock_guard lock(mu_);
    return sleeps_;
  }

 private:
  mutable std::mutex mu_;
  time_point now_ = time_point{} + std::chrono::hours(1);
  std::vector<duration> sleeps_;
};

}  // namespace berth::testing
