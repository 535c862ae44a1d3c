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
    ++sleeps_started_;
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

  // How many sleep_until() calls have begun so far. A test that moves the time past every
  // sleeper's deadline can wait for the count to grow by the number of sleepers: each has then
  // done the work the deadline released and is asleep again.
  long sleeps_started() const {
    std::lock_guard lock(mu_);
    return sleeps_started_;
  }
  void wait_for_sleeps_started(long n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return sleeps_started_ >= n; });
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
  long sleeps_started_ = 0;
};

}  // namespace berth::testing
