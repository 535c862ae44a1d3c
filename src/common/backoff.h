// Exponential backoff with jitter, for retry loops (HTTP retries, the reflector's relists).
//
//   Backoff b({.initial = 200ms, .max = 30s});
//   clock.sleep_for(b.next(), stop);   // 200ms±jitter, 400ms±jitter, ... capped at max
//   b.reset();                         // after a success / a healthy period
//
// Thread-safety: not thread-safe; one owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace berth {

class Backoff {
 public:
  using duration = std::chrono::steady_clock::duration;
  struct Options {
    duration initial = std::chrono::milliseconds(200);
    duration max = std::chrono::seconds(30);
    double factor = 2.0;
    // Each delay is multiplied by a uniform factor in [1 - jitter, 1 + jitter], so that many
    // clients that failed together do not retry together.
    double jitter = 0.2;
  };

  explicit Backoff(Options options, std::uint64_t seed = std::random_device{}());

  // The delay before the next attempt; grows by `factor` each call up to `max`.
  duration next();
  // Start again from `initial`.
  void reset();
  // How many delays were handed out since the last reset.
  int attempts() const { return attempts_; }

 private:
  Options options_;
  std::mt19937_64 rng_;
  double current_ns_;
  int attempts_ = 0;
};

}  // namespace berth
