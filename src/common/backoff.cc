#include "common/backoff.h"

#include <algorithm>

namespace berth {

Backoff::Backoff(Options options, std::uint64_t seed)
    : options_(options), rng_(seed), current_ns_(static_cast<double>(options.initial.count())) {}

Backoff::duration Backoff::next() {
  const double max_ns = static_cast<double>(options_.max.count());
  const double base = std::min(current_ns_, max_ns);
  std::uniform_real_distribution<double> spread(1.0 - options_.jitter, 1.0 + options_.jitter);
  const double jittered = std::min(base * spread(rng_), max_ns);
  current_ns_ = std::min(current_ns_ * options_.factor, max_ns);
  ++attempts_;
  return duration(static_cast<duration::rep>(jittered));
}

void Backoff::reset() {
  current_ns_ = static_cast<double>(options_.initial.count());
  attempts_ = 0;
}

}  // namespace berth
