// The hash behind the Driver's ".applied" markers must never change: a berth upgraded over a
// running HAProxy compares it with the marker an older berth wrote.
#include "common/stable_hash.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(StableHash, KeepsTheValuesMarkersOnDiskWereWrittenWith) {
  EXPECT_EQ(stable_hash(""), 1469598103934665603ULL);
  EXPECT_EQ(stable_hash("global\n"), 2522530875467912630ULL);  // computed with the Driver's former code
  static_assert(stable_hash("a") != stable_hash("b"));
}

}  // namespace
}  // namespace berth
