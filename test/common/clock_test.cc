#include "common/clock.h"

#include <gtest/gtest.h>

#include <thread>

#include "support/fake_clock.h"

namespace berth {
namespace {

using std::chrono::seconds;

TEST(SystemClock, SleepReturnsFalseAsSoonAsStopIsRequested) {
  std::stop_source stop;
  bool reached = true;
  std::jthread sleeper([&] { reached = SystemClock::instance().sleep_for(std::chrono::hours(1), stop.get_token()); });
  stop.request_stop();
  sleeper.join();
  EXPECT_FALSE(reached);
}

TEST(SystemClock, SleepReachesAPastDeadlineAtOnce) {
  auto& clock = SystemClock::instance();
  EXPECT_TRUE(clock.sleep_until(clock.now() - seconds(1), std::stop_token()));
}

TEST(FakeClock, SleeperWakesOnlyWhenTimeIsAdvancedPastItsDeadline) {
  testing::FakeClock clock;
  const auto start = clock.now();
  bool reached = false;
  std::jthread sleeper([&] { reached = clock.sleep_until(start + seconds(10), std::stop_token()); });
  clock.wait_for_sleepers(1);
  clock.advance(seconds(5));
  EXPECT_EQ(clock.sleepers(), 1);  // still asleep: 5 s < 10 s
  clock.advance(seconds(5));
  sleeper.join();
  EXPECT_TRUE(reached);
  EXPECT_EQ(clock.now() - start, seconds(10));
}

}  // namespace
}  // namespace berth
