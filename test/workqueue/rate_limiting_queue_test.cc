#include "workqueue/rate_limiting_queue.h"

#include <chrono>

#include <gtest/gtest.h>

#include "support/fake_clock.h"

namespace berth::workqueue {
namespace {

using namespace std::chrono_literals;
using berth::testing::FakeClock;

TEST(RateLimitingQueueTest, AddAfterIsNotReadyBeforeTheDeadline) {
  FakeClock clock;
  RateLimitingQueue q(clock);
  q.add_after("a", 10s);
  clock.wait_for_sleepers(1);  // the delay thread waits for the deadline
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.num_waiting(), 1u);
  clock.advance(9s);
  EXPECT_EQ(q.len(), 0u);
  clock.advance(1s);
  EXPECT_EQ(q.get(), "a");  // blocks until the delay thread has added it
  EXPECT_EQ(q.num_waiting(), 0u);
}

TEST(RateLimitingQueueTest, NonPositiveDelayAddsAtOnce) {
  FakeClock clock;
  RateLimitingQueue q(clock);
  q.add_after("a", 0s);
  EXPECT_EQ(q.len(), 1u);
}

TEST(RateLimitingQueueTest, EarlierDeadlineAddedLaterWakesTheWaiter) {
  FakeClock clock;
  RateLimitingQueue q(clock);
  q.add_after("late", 1h);
  clock.wait_for_sleepers(1);
  q.add_after("early", 1s);
  clock.advance(1s);
  EXPECT_EQ(q.get(), "early");
  EXPECT_EQ(q.num_waiting(), 1u);
  EXPECT_EQ(q.len(), 0u);
}

TEST(RateLimitingQueueTest, RepeatedAddAfterKeepsTheEarliestDeadline) {
  FakeClock clock;
  RateLimitingQueue q(clock);
  q.add_after("a", 5s);
  q.add_after("a", 1s);
  q.add_after("a", 9s);
  EXPECT_EQ(q.num_waiting(), 1u);
  clock.advance(1s);
  EXPECT_EQ(q.get(), "a");
  q.done("a");
  // The later adds were folded into the first one: nothing else arrives.
  clock.advance(10s);
  q.add("sentinel");
  EXPECT_EQ(q.get(), "sentinel");
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.num_waiting(), 0u);
}

TEST(RateLimitingQueueTest, AddRateLimitedBacksOffPerFailureAndForgetResets) {
  FakeClock clock;
  ItemRateLimiter::Options limits;
  limits.base_delay = 1s;
  limits.bucket = std::nullopt;
  RateLimitingQueue q(clock, limits);
  q.add_rate_limited("a");  // 1 s
  EXPECT_EQ(q.num_requeues("a"), 1);
  clock.advance(1s);
  ASSERT_EQ(q.get(), "a");
  q.done("a");

  q.add_rate_limited("a");  // 2 s
  EXPECT_EQ(q.num_requeues("a"), 2);
  clock.wait_for_sleepers(1);
  clock.advance(1s);
  EXPECT_EQ(q.len(), 0u);
  clock.advance(1s);
  ASSERT_EQ(q.get(), "a");
  q.done("a");

  q.forget("a");
  EXPECT_EQ(q.num_requeues("a"), 0);
  q.add_rate_limited("a");  // 1 s again
  clock.advance(1s);
  EXPECT_EQ(q.get(), "a");
}

TEST(RateLimitingQueueTest, ShutDownDropsWaitingKeysAndStopsPromptly) {
  FakeClock clock;
  RateLimitingQueue q(clock);
  q.add_after("a", 1h);
  q.add("b");
  clock.wait_for_sleepers(1);
  q.shut_down();
  EXPECT_EQ(q.get(), "b");
  EXPECT_EQ(q.get(), std::nullopt);
  q.add_after("c", 1s);
  EXPECT_EQ(q.num_waiting(), 1u);  // still only "a": nothing new accepted
}

}  // namespace
}  // namespace berth::workqueue
