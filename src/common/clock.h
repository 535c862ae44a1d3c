// Time as a dependency, so tests never sleep.
//
// Everything that waits or measures time (rate limiters, backoff, the work queue's delayed adds,
// leader election) takes a Clock&. Production code uses SystemClock; tests use FakeClock
// (test/support/fake_clock.h) and advance it explicitly.
//
// Thread-safety: implementations are safe to call from any thread.
#pragma once

#include <chrono>
#include <stop_token>

namespace berth {

class Clock {
 public:
  using duration = std::chrono::steady_clock::duration;
  using time_point = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;

  virtual time_point now() const = 0;

  // Blocks until now() >= deadline or a stop is requested on `stop`.
  // Returns true when the deadline was reached, false when stopped first.
  virtual bool sleep_until(time_point deadline, std::stop_token stop) = 0;

  bool sleep_for(duration d, std::stop_token stop) { return sleep_until(now() + d, std::move(stop)); }
};

// The real monotonic clock.
class SystemClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  bool sleep_until(time_point deadline, std::stop_token stop) override;

  // A process-wide instance for composition roots.
  static SystemClock& instance();
};

// A duration in milliseconds with fractions, for logs ("took_ms=12.3").
inline double milliseconds(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

}  // namespace berth
