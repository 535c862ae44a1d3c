#include "ports/port_pool.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/fake_clock.h"

namespace berth::ports {
namespace {

using namespace std::chrono_literals;
using Code = PortPoolErrorCode;

PortRangeSet set(std::string_view spec) { return *PortRangeSet::parse(spec); }

class PortPoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<PortPool> make(std::string_view ranges, std::string_view excluded = "",
                                 Clock::duration quarantine = 10min) {
    return std::make_unique<PortPool>(set(ranges), set(excluded), clock_, quarantine);
  }
  testing::FakeClock clock_;
  const std::chrono::system_clock::time_point wall_ = std::chrono::system_clock::time_point{} + std::chrono::hours(500000);
};

TEST_F(PortPoolTest, AllocatesNextFitSkippingExclusionsAndAcrossRanges) {
  auto pool = make("100-103,200-201", "101");
  std::vector<Port> got;
  for (int i = 0; i < 5; ++i) got.push_back(*pool->allocate("o" + std::to_string(i)));
  EXPECT_EQ(got, (std::vector<Port>{100, 102, 103, 200, 201}));
  auto exhausted = pool->allocate("o5");
  ASSERT_FALSE(exhausted);
  EXPECT_EQ(exhausted.error().code, Code::kExhausted);
  EXPECT_EQ(pool->counts(), (PortPoolCounts{.size = 5, .allocated = 5, .free = 0}));
}

TEST_F(PortPoolTest, AllocateIsIdempotentPerOwner) {
  auto pool = make("100-109");
  EXPECT_EQ(*pool->allocate("a"), 100);
  EXPECT_EQ(*pool->allocate("a"), 100);
  EXPECT_EQ(*pool->allocate("b"), 101);
  EXPECT_EQ(pool->port_of("a"), 100);
  EXPECT_EQ(pool->holder(101), "b");
}

TEST_F(PortPoolTest, NextFitWrapsAroundAndReusesAFreedPortLast) {
  auto pool = make("100-102", "", 0s);
  ASSERT_TRUE(pool->allocate("a"));
  ASSERT_TRUE(pool->allocate("b"));
  pool->release("a");  // 100 is free at once (no quarantine), but the cursor is at 102
  EXPECT_EQ(*pool->allocate("c"), 102);
  EXPECT_EQ(*pool->allocate("d"), 100);
}

TEST_F(PortPoolTest, AllocateSpecificReportsWhyAPortCannotBeHad) {
  auto pool = make("100-109", "105");
  ASSERT_TRUE(pool->allocate_specific("holder", 103));
  ASSERT_TRUE(pool->allocate_specific("quarantined", 104));
  pool->release("quarantined");
  ASSERT_TRUE(pool->mark_unusable(106));
  ASSERT_TRUE(pool->allocate_specific("has", 107));

  struct Case {
    std::string owner;
    Port port;
    Code code;
  };
  for (const Case& c : std::vector<Case>{{"x", 0, Code::kNotInPool},
                                         {"x", -1, Code::kNotInPool},
                                         {"x", 70000, Code::kNotInPool},
                                         {"x", 99, Code::kNotInPool},
                                         {"x", 105, Code::kExcluded},
                                         {"x", 104, Code::kQuarantined},
                                         {"x", 103, Code::kAlreadyAllocated},
                                         {"x", 106, Code::kUnusable},
                                         {"has", 108, Code::kOwnerHasPort}}) {
    auto got = pool->allocate_specific(c.owner, c.port);
    ASSERT_FALSE(got) << c.port;
    EXPECT_EQ(got.error().code, c.code) << c.port << ": " << got.error().describe();
    EXPECT_EQ(pool->why_unavailable(c.port).has_value(), c.code != Code::kOwnerHasPort) << c.port;
  }
  auto taken = pool->allocate_specific("x", 103);
  EXPECT_EQ(taken.error().holder, "holder");
  EXPECT_EQ(pool->allocate_specific("x", 104).error().until, clock_.now() + 10min);
  EXPECT_EQ(pool->allocate_specific("has", 108).error().port, 107);
  EXPECT_EQ(*pool->allocate_specific("holder", 103), 103) << "asking again for one's own port succeeds";
  EXPECT_EQ(pool->allocate_specific("x", 103).error().describe(), "port 103 is already allocated to holder");
}

TEST_F(PortPoolTest, ReleasedPortsStayInQuarantineForThePeriod) {
  auto pool = make("100-100");
  ASSERT_TRUE(pool->allocate("a"));
  EXPECT_EQ(pool->release("a"), 100);
  EXPECT_TRUE(pool->is_quarantined(100));
  EXPECT_EQ(pool->next_quarantine_expiry(), clock_.now() + 10min);
  EXPECT_EQ(pool->allocate("b").error().code, Code::kExhausted);
  clock_.advance(10min - 1ms);
  EXPECT_EQ(pool->allocate("b").error().code, Code::kExhausted);
  clock_.advance(1ms);
  EXPECT_FALSE(pool->is_quarantined(100));
  EXPECT_EQ(*pool->allocate("b"), 100);
  EXPECT_EQ(pool->next_quarantine_expiry(), std::nullopt);
}

TEST_F(PortPoolTest, ZeroQuarantineAndRollbackFreeAtOnce) {
  auto pool = make("100-100", "", 0s);
  ASSERT_TRUE(pool->allocate("a"));
  pool->release("a");
  EXPECT_EQ(*pool->allocate("b"), 100);

  auto guarded = make("200-200");
  ASSERT_TRUE(guarded->allocate("a"));
  EXPECT_EQ(guarded->release_without_quarantine("a"), 200);
  EXPECT_FALSE(guarded->is_quarantined(200));
  EXPECT_EQ(*guarded->allocate("b"), 200);
  EXPECT_EQ(guarded->release_port(200), "b");
  EXPECT_EQ(guarded->release_port(200), std::nullopt);
  EXPECT_EQ(guarded->release("nobody"), std::nullopt);
}

TEST_F(PortPoolTest, MarkingAHeldPortUnusableEvictsItsOwnerAndKeepsTheQuarantine) {
  auto pool = make("100-101");
  ASSERT_TRUE(pool->allocate_specific("a", 100));
  auto evicted = pool->mark_unusable(100);
  ASSERT_TRUE(evicted);
  EXPECT_EQ(*evicted, "a");
  EXPECT_EQ(pool->port_of("a"), std::nullopt);
  EXPECT_EQ(*pool->allocate("a"), 101);
  EXPECT_EQ(pool->counts(), (PortPoolCounts{.size = 2, .allocated = 1, .quarantined = 0, .unusable = 1, .free = 0}));
  EXPECT_TRUE(pool->clear_unusable(100));
  EXPECT_FALSE(pool->clear_unusable(100));
  EXPECT_TRUE(pool->is_quarantined(100)) << "clearing the mark must not shorten the quarantine";
  EXPECT_EQ(pool->mark_unusable(5).error().code, Code::kNotInPool);
}

TEST_F(PortPoolTest, CountsAlwaysAddUpToTheSize) {
  auto pool = make("100-109", "109");
  ASSERT_TRUE(pool->allocate("a"));
  ASSERT_TRUE(pool->allocate("b"));
  pool->release("b");
  ASSERT_TRUE(pool->mark_unusable(105));
  auto c = pool->counts();
  EXPECT_EQ(c.size, 9u);
  EXPECT_EQ(c.allocated, 1u);
  EXPECT_EQ(c.quarantined, 1u);
  EXPECT_EQ(c.unusable, 1u);
  EXPECT_EQ(c.free, 6u);
}

TEST_F(PortPoolTest, QuarantineExportsAndImportsAsWallClockReleaseTimes) {
  auto pool = make("100-109");
  ASSERT_TRUE(pool->allocate_specific("a", 100));
  pool->release("a");
  clock_.advance(4min);
  auto exported = pool->export_quarantine(wall_);
  ASSERT_EQ(exported.size(), 1u);
  EXPECT_EQ(exported.at(100), wall_ - 4min);

  auto other = make("100-109");
  ASSERT_TRUE(other->allocate_specific("held", 103));
  QuarantineReleaseTimes entries = exported;
  entries[101] = wall_ + 1h;          // in the future (clock skew): counts as released now
  entries[102] = wall_ - 11min;       // already over: ignored
  entries[103] = wall_ - 1min;        // held by an owner: not applied
  entries[500] = wall_ - 1min;        // outside the pool: not applied
  auto dropped = other->import_quarantine(entries, wall_);
  EXPECT_EQ(dropped, (QuarantineReleaseTimes{{103, wall_ - 1min}, {500, wall_ - 1min}}));
  EXPECT_TRUE(other->is_quarantined(100));
  EXPECT_TRUE(other->is_quarantined(101));
  EXPECT_FALSE(other->is_quarantined(102));
  clock_.advance(6min);  // 100 was released 10 min ago now; 101 only 6 min ago
  EXPECT_FALSE(other->is_quarantined(100));
  EXPECT_TRUE(other->is_quarantined(101));
  clock_.advance(4min);
  EXPECT_FALSE(other->is_quarantined(101));

  // A port in quarantine twice keeps the later release time.
  auto twice = make("100-109");
  twice->import_quarantine({{100, wall_ - 9min}}, wall_);
  twice->import_quarantine({{100, wall_ - 2min}}, wall_);
  clock_.advance(7min);
  EXPECT_TRUE(twice->is_quarantined(100));
  twice->import_quarantine({{100, wall_ - 20min}}, wall_);
  EXPECT_TRUE(twice->is_quarantined(100));
}

TEST_F(PortPoolTest, RebuildKeepsTheOlderClaimOfADuplicateWhateverTheInputOrder) {
  std::vector<Claim> claims = {
      {.owner = "ns/young/3306", .port = 100, .claim_order = "2026-11-23T12:00:00Z/uid-b"},
      {.owner = "ns/old/3306", .port = 100, .claim_order = "2026-11-23T09:00:00Z/uid-z"},
      {.owner = "ns/tie-a/3306", .port = 101, .claim_order = "2026-11-23T09:00:00Z/uid-a"},
      {.owner = "ns/tie-b/3306", .port = 101, .claim_order = "2026-11-23T09:00:00Z/uid-b"},
      // Equal claim orders: the smaller owner wins.
      {.owner = "ns/same-b/3306", .port = 102, .claim_order = "2026-11-23T09:00:00Z/uid-c"},
      {.owner = "ns/same-a/3306", .port = 102, .claim_order = "2026-11-23T09:00:00Z/uid-c"},
      {.owner = "ns/out/3306", .port = 5000, .claim_order = "1"},
      {.owner = "ns/excluded/3306", .port = 109, .claim_order = "1"},
      {.owner = "ns/fine/3306", .port = 104, .claim_order = "3"},
      {.owner = "ns/fine/3306", .port = 105, .claim_order = "3"},
  };
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(claims.begin(), claims.end(), rng);
    auto pool = make("100-109", "109");
    RebuildReport report = pool->rebuild(claims, {}, wall_);
    EXPECT_EQ(pool->holder(100), "ns/old/3306");
    EXPECT_EQ(pool->holder(101), "ns/tie-a/3306");
    EXPECT_EQ(pool->holder(102), "ns/same-a/3306");
    EXPECT_EQ(pool->holder(104), "ns/fine/3306");
    EXPECT_EQ(pool->holder(105), std::nullopt);
    std::vector<std::pair<std::string, Code>> rejected;
    for (const auto& r : report.rejected) rejected.emplace_back(r.claim.owner, r.reason.code);
    std::sort(rejected.begin(), rejected.end());
    EXPECT_EQ(rejected, (std::vector<std::pair<std::string, Code>>{{"ns/excluded/3306", Code::kExcluded},
                                                                   {"ns/fine/3306", Code::kDuplicateOwner},
                                                                   {"ns/out/3306", Code::kNotInPool},
                                                                   {"ns/same-b/3306", Code::kAlreadyAllocated},
                                                                   {"ns/tie-b/3306", Code::kAlreadyAllocated},
                                                                   {"ns/young/3306", Code::kAlreadyAllocated}}));
    EXPECT_EQ(report.accepted.size(), 4u);
    // The next allocation continues after the highest allocated port.
    EXPECT_EQ(*pool->allocate("new"), 105);
  }
}

TEST_F(PortPoolTest, RebuildLetsClaimsWinOverQuarantineAndReplacesEarlierState) {
  auto pool = make("100-109");
  ASSERT_TRUE(pool->allocate("stale-owner"));
  ASSERT_TRUE(pool->mark_unusable(108));
  RebuildReport report = pool->rebuild({{.owner = "ns/a/1", .port = 102, .claim_order = "1"}},
                                       {{102, wall_ - 1min}, {103, wall_ - 1min}}, wall_);
  EXPECT_EQ(report.dropped_quarantine, (QuarantineReleaseTimes{{102, wall_ - 1min}}));
  EXPECT_EQ(pool->holder(102), "ns/a/1");
  EXPECT_TRUE(pool->is_quarantined(103));
  EXPECT_EQ(pool->port_of("stale-owner"), std::nullopt) << "a rebuild replaces every allocation";
  EXPECT_TRUE(pool->is_unusable(108)) << "unusable marks survive a rebuild";
}

// Random operations; after each, the pool's invariants hold.
TEST_F(PortPoolTest, RandomOperationsKeepTheInvariants) {
  auto pool = make("1000-1049,2000-2009", "1010-1019", 30s);
  std::mt19937 rng(20261123);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  for (int op = 0; op < 5000; ++op) {
    const std::string owner = "o" + std::to_string(pick(80));
    switch (pick(6)) {
      case 0: pool->allocate(owner); break;
      case 1: pool->allocate_specific(owner, 990 + pick(1030)); break;
      case 2: pool->release(owner); break;
      case 3: pool->release_without_quarantine(owner); break;
      case 4: clock_.advance(std::chrono::seconds(pick(10))); break;
      case 5:
        if (pick(10) == 0) {
          pool->mark_unusable(1000 + pick(50));
        } else if (pick(10) == 0) {
          pool->clear_unusable(1000 + pick(50));
        }
        break;
    }
    const PortPoolCounts c = pool->counts();
    ASSERT_EQ(c.size, 50u) << op;
    ASSERT_EQ(c.allocated + c.quarantined + c.unusable + c.free, c.size) << op;
    std::size_t held = 0;
    for (Port p = 990; p <= 2020; ++p) {
      if (auto h = pool->holder(p)) {
        ++held;
        ASSERT_TRUE(pool->ranges().contains(p)) << op << " port " << p;
        ASSERT_EQ(pool->port_of(*h), p) << op;
      }
    }
    ASSERT_EQ(held, c.allocated) << op;
  }
}

}  // namespace
}  // namespace berth::ports
