#include "workqueue/item_rate_limiter.h"

#include <chrono>

#include <gtest/gtest.h>

#include "support/fake_clock.h"

namespace berth::workqueue {
namespace {

using namespace std::chrono_literals;
using berth::testing::FakeClock;

ItemRateLimiter::Options no_bucket() {
  ItemRateLimiter::Options o;
  o.bucket = std::nullopt;
  return o;
}

ItemRateLimiter::Options with_bucket(double qps, int burst) {
  ItemRateLimiter::Options o;
  o.bucket = TokenBucket{.qps = qps, .burst = burst};
  return o;
}

TEST(ItemRateLimiterTest, BackoffDoublesPerFailureFromFiveMilliseconds) {
  FakeClock clock;
  ItemRateLimiter limiter(clock, no_bucket());
  EXPECT_EQ(limiter.when("a"), 5ms);
  EXPECT_EQ(limiter.when("a"), 10ms);
  EXPECT_EQ(limiter.when("a"), 20ms);
  EXPECT_EQ(limiter.when("a"), 40ms);
  EXPECT_EQ(limiter.num_requeues("a"), 4);
  // Keys back off independently.
  EXPECT_EQ(limiter.when("b"), 5ms);
  EXPECT_EQ(limiter.num_requeues("b"), 1);
}

TEST(ItemRateLimiterTest, BackoffIsCappedAtMaxDelay) {
  FakeClock clock;
  ItemRateLimiter limiter(clock, no_bucket());
  Clock::duration last{};
  for (int i = 0; i < 100; ++i) last = limiter.when("a");  // 2^99 must not overflow
  EXPECT_EQ(last, 1000s);
}

TEST(ItemRateLimiterTest, ForgetRestartsTheBackoff) {
  FakeClock clock;
  ItemRateLimiter limiter(clock, no_bucket());
  limiter.when("a");
  limiter.when("a");
  limiter.forget("a");
  EXPECT_EQ(limiter.num_requeues("a"), 0);
  EXPECT_EQ(limiter.when("a"), 5ms);
}

TEST(ItemRateLimiterTest, BucketLimitsManyKeysAfterTheBurst) {
  FakeClock clock;
  ItemRateLimiter limiter(clock, with_bucket(10, 3));
  // Three first failures fit into the burst: only the per-key 5 ms.
  EXPECT_EQ(limiter.when("k1"), 5ms);
  EXPECT_EQ(limiter.when("k2"), 5ms);
  EXPECT_EQ(limiter.when("k3"), 5ms);
  // Then one token per 100 ms.
  EXPECT_EQ(limiter.when("k4"), 100ms);
  EXPECT_EQ(limiter.when("k5"), 200ms);
  // Time refills the bucket.
  clock.advance(1s);
  EXPECT_EQ(limiter.when("k6"), 5ms);
}

}  // namespace
}  // namespace berth::workqueue
