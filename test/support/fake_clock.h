// A Clock that moves only when a test says so.
//
// sleep_until() blocks until advance()/set() moves the time past the deadline (or a stop is
// requested). wait_for_sleepers(n) lets a test synchronise with a thread that is about to block,
// so tests never need a real sleep.
//
// Thread-safety: all members may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "common/clock.h"

namespace berth::testing {

class FakeClock final : public Clock {
 public:
  FakeClock() : now_(time_point{} + std::chrono::hours(1)) {}

  time_point now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }

  bool sleep_until(time_point deadline, std::stop_token stop) override {
    std::unique_lock lock(mu_);
    ++sleepers_;
    cv_.notify_all();
    bool reached = cv_.wait(lock, stop, [&] { return now_ >= deadline; });
    --sleepers_;
    return reached;
  }

  void advance(duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
    cv_.notify_all();
  }

  // Blocks until at least `n` threads are inside sleep_until().
  void wait_for_sleepers(int n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return sleepers_ >= n; });
  }

  int sleepers() const {
    std::lock_guard lock(mu_);
    return sleepers_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  time_point now_;
  int sleepers_ = 0;
};

}  // namespace berth::testing
