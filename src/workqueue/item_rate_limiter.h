// How long a key waits before it is retried: client-go's DefaultControllerRateLimiter.
//
// The delay for a key is the larger of
//   - a per-key exponential backoff: base_delay * 2^(failures so far), capped at max_delay
//     (5 ms, 10 ms, 20 ms, ... 1000 s), reset by forget(key), and
//   - an optional overall token bucket (10 qps, burst 100) shared by all keys, so that a burst
//     of failing keys cannot make the controller hammer the API server.
//
//   ItemRateLimiter limiter(clock);
//   queue.add_after(key, limiter.when(key));   // after a failed sync
//   limiter.forget(key);                       // after a successful one
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace berth::workqueue {

// Declared outside the class so that `Options options = {}` default arguments compile (GCC
// rejects nested aggregates with member initializers there).
struct TokenBucket {
  double qps = 10.0;
  int burst = 100;
};

struct ItemRateLimiterOptions {
  Clock::duration base_delay = std::chrono::milliseconds(5);
  Clock::duration max_delay = std::chrono::seconds(1000);
  // nullopt: per-key backoff only.
  std::optional<TokenBucket> bucket = TokenBucket{};
};

class ItemRateLimiter {
 public:
  using Options = ItemRateLimiterOptions;
  using Bucket = TokenBucket;

  // `clock` must outlive the limiter; it is read only for the token bucket.
  explicit ItemRateLimiter(Clock& clock, Options options = {});

  // Records one more failure of `key` and returns how long to wait before retrying it.
  Clock::duration when(const std::string& key);
  // The key succeeded: its backoff starts again from base_delay. (The bucket is not refunded.)
  void forget(const std::string& key);
  // Failures recorded for `key` since the last forget().
  int num_requeues(const std::string& key) const;

 private:
  Clock::duration exponential_locked(const std::string& key);
  Clock::duration bucket_locked();

  Clock& clock_;
  const Options options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> failures_;  // guarded by mu_
  double tokens_ = 0;                              // guarded by mu_; may go negative (reserved)
  Clock::time_point last_refill_;                  // guarded by mu_
};

}  // namespace berth::workqueue
