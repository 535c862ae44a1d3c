#include "kube/request_rate_limiter.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace berth::kube {

RequestRateLimiter::RequestRateLimiter(double qps, int burst, Clock& clock)
    : qps_(qps), burst_(std::max(1, burst)), clock_(clock), tokens_(std::max(1, burst)), last_(clock.now()) {}

void RequestRateLimiter::refill_locked(Clock::time_point now) {
  if (now <= last_) return;
  double elapsed = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + elapsed * qps_);
  last_ = now;
}

bool RequestRateLimiter::try_acquire() {
  if (qps_ <= 0) return true;
  std::lock_guard lock(mu_);
  refill_locked(clock_.now());
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

bool RequestRateLimiter::acquire(std::stop_token stop) {
  if (qps_ <= 0) return !stop.stop_requested();
  Clock::time_point deadline;
  {
    std::lock_guard lock(mu_);
    Clock::time_point now = clock_.now();
    refill_locked(now);
    tokens_ -= 1.0;
    if (tokens_ >= 0.0) return true;
    // Round up so the token really is there when we wake.
    auto wait = std::chrono::duration<double>(-tokens_ / qps_);
    deadline = now + std::chrono::ceil<Clock::duration>(wait);
  }
  if (clock_.sleep_until(deadline, stop)) return true;
  std::lock_guard lock(mu_);
  tokens_ += 1.0;
  return false;
}

}  // namespace berth::kube
