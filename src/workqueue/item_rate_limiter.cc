#include "workqueue/item_rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace berth::workqueue {

ItemRateLimiter::ItemRateLimiter(Clock& clock, Options options)
    : clock_(clock),
      options_(options),
      tokens_(options.bucket ? options.bucket->burst : 0),
      last_refill_(clock.now()) {}

Clock::duration ItemRateLimiter::when(const std::string& key) {
  std::lock_guard lock(mu_);
  Clock::duration delay = exponential_locked(key);
  if (options_.bucket) delay = std::max(delay, bucket_locked());
  return delay;
}

Clock::duration ItemRateLimiter::exponential_locked(const std::string& key) {
  const int exponent = failures_[key]++;
  // Computed in double so that 2^exponent cannot overflow the integer duration.
  const double delay_ns = static_cast<double>(options_.base_delay.count()) * std::pow(2.0, exponent);
  const double max_ns = static_cast<double>(options_.max_delay.count());
  if (delay_ns >= max_ns) return options_.max_delay;
  return Clock::duration(static_cast<Clock::duration::rep>(delay_ns));
}

// A reservation as in golang.org/x/time/rate: take a token now, and if the bucket is in debt,
// wait for the debt to be refilled.
Clock::duration ItemRateLimiter::bucket_locked() {
  const Bucket& bucket = *options_.bucket;
  const Clock::time_point now = clock_.now();
  if (now > last_refill_) {
    const double elapsed_s = std::chrono::duration<double>(now - last_refill_).count();
    tokens_ = std::min<double>(bucket.burst, tokens_ + elapsed_s * bucket.qps);
    last_refill_ = now;
  }
  tokens_ -= 1.0;
  if (tokens_ >= 0 || bucket.qps <= 0) return Clock::duration::zero();
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-tokens_ / bucket.qps));
}

void ItemRateLimiter::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int ItemRateLimiter::num_requeues(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

}  // namespace berth::workqueue
