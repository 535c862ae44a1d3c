#include "kube/request_rate_limiter.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "support/fake_clock.h"

namespace berth::kube {
namespace {

using berth::testing::FakeClock;
using namespace std::chrono_literals;

TEST(RequestRateLimiterTest, BurstThenQps) {
  FakeClock clock;
  RequestRateLimiter limiter(2.0, 3, clock);  // a token every 500ms, 3 at once
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.try_acquire()) << i;
  EXPECT_FALSE(limiter.try_acquire());
  clock.advance(499ms);
  EXPECT_FALSE(limiter.try_acquire());
  clock.advance(1ms);
  EXPECT_TRUE(limiter.try_acquire());
  EXPECT_FALSE(limiter.try_acquire());
  clock.advance(10s);  // refills to the burst, not beyond
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.try_acquire()) << i;
  EXPECT_FALSE(limiter.try_acquire());
}

TEST(RequestRateLimiterTest, AcquireBlocksUntilTheTokenIsDue) {
  FakeClock clock;
  RequestRateLimiter limiter(2.0, 1, clock);
  ASSERT_TRUE(limiter.acquire({}));
  std::atomic<bool> done = false;
  std::jthread waiter([&] {
    EXPECT_TRUE(limiter.acquire({}));
    done = true;
  });
  clock.wait_for_sleepers(1);
  clock.advance(499ms);
  EXPECT_EQ(clock.sleepers(), 1);  // still waiting: the deadline is 500ms
  EXPECT_FALSE(done);
  clock.advance(1ms);
  waiter.join();
  EXPECT_TRUE(done);
}

TEST(RequestRateLimiterTest, WaitersAreSpreadAtOnePerInterval) {
  FakeClock clock;
  RequestRateLimiter limiter(10.0, 1, clock);
  ASSERT_TRUE(limiter.acquire({}));
  std::atomic<int> acquired = 0;
  std::jthread a([&] { if (limiter.acquire({})) ++acquired; });
  clock.wait_for_sleepers(1);
  std::jthread b([&] { if (limiter.acquire({})) ++acquired; });
  clock.wait_for_sleepers(2);
  clock.advance(100ms);  // one token due: exactly one waiter leaves
  // The waiter leaves sleep_until() a moment before it counts itself: wait for both (bounded).
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((acquired.load() < 1 || clock.sleepers() != 1) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(acquired, 1);
  EXPECT_EQ(clock.sleepers(), 1) << "the other waiter waits for the next token";
  clock.advance(100ms);
  a.join();
  b.join();
  EXPECT_EQ(acquired, 2);
}

TEST(RequestRateLimiterTest, StopReturnsTheReservation) {
  FakeClock clock;
  RequestRateLimiter limiter(1.0, 1, clock);
  ASSERT_TRUE(limiter.acquire({}));
  std::stop_source stop;
  bool result = true;
  std::jthread waiter([&] { result = limiter.acquire(stop.get_token()); });
  clock.wait_for_sleepers(1);
  stop.request_stop();
  waiter.join();
  EXPECT_FALSE(result);
  clock.advance(1s);  // the cancelled reservation did not consume this token
  EXPECT_TRUE(limiter.try_acquire());
}

TEST(RequestRateLimiterTest, NonPositiveQpsDisablesTheLimit) {
  FakeClock clock;
  RequestRateLimiter limiter(0, 1, clock);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.acquire({}));
  EXPECT_TRUE(limiter.try_acquire());
}

}  // namespace
}  // namespace berth::kube
