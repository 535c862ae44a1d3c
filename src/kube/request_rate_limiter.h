// Client-side rate limit for API requests: a token bucket of `burst` tokens refilled at `qps`
// per second (client-go's default is qps 5, burst 10), on the injected Clock.
//
// acquire() reserves the next token and sleeps until it is due, so waiters are served in the
// order they arrived and a burst of callers is spread at exactly 1/qps. qps <= 0 disables the
// limit.
//
// Thread-safety: all members may be called from any thread.
#pragma once

#include <mutex>
#include <stop_token>

#include "common/clock.h"

namespace berth::kube {

class RequestRateLimiter {
 public:
  RequestRateLimiter(double qps, int burst, Clock& clock);

  RequestRateLimiter(const RequestRateLimiter&) = delete;
  RequestRateLimiter& operator=(const RequestRateLimiter&) = delete;

  // Blocks until a token is available. Returns false (and gives the reservation back) when
  // `stop` is requested first.
  bool acquire(std::stop_token stop);
  // Takes a token only if one is available now.
  bool try_acquire();

 private:
  void refill_locked(Clock::time_point now);

  const double qps_;
  const double burst_;
  Clock& clock_;

  std::mutex mu_;
  double tokens_;             // guarded by mu_; negative = reserved by sleeping callers
  Clock::time_point last_;    // guarded by mu_
};

}  // namespace berth::kube
