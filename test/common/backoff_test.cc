#include "common/backoff.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, GrowsByFactorWithinJitterAndCapsAtMax) {
  Backoff b({.initial = milliseconds(100), .max = milliseconds(1000), .factor = 2.0, .jitter = 0.2}, 42);
  const double bases[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (double base : bases) {
    auto d = std::chrono::duration<double, std::milli>(b.next()).count();
    EXPECT_GE(d, base * 0.8 - 1e-6);
    EXPECT_LE(d, std::min(base * 1.2, 1000.0) + 1e-6);
  }
  EXPECT_EQ(b.attempts(), 7);
}

TEST(Backoff, ResetStartsAgainFromInitial) {
  Backoff b({.initial = milliseconds(10), .max = milliseconds(10000), .factor = 3.0, .jitter = 0.0}, 1);
  b.next();
  b.next();
  EXPECT_EQ(b.next(), milliseconds(90));
  b.reset();
  EXPECT_EQ(b.attempts(), 0);
  EXPECT_EQ(b.next(), milliseconds(10));
}

TEST(Backoff, JitterSpreadsDelaysOfClientsThatFailedTogether) {
  Backoff a({.initial = milliseconds(1000)}, 1);
  Backoff b({.initial = milliseconds(1000)}, 2);
  EXPECT_NE(a.next(), b.next());
}

}  // namespace
}  // namespace berth
