#include "ports/port_range_set.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace berth::ports {
namespace {

struct GoodCase {
  std::vector<std::string> specs;
  std::string canonical;
  std::size_t size;
};

TEST(PortRangeSetTest, ParsesGoodSpecs) {
  const std::vector<GoodCase> cases = {
      {{"20000-29999"}, "20000-29999", 10000},
      {{"25000"}, "25000", 1},
      {{"1-65535"}, "1-65535", 65535},
      {{"22,25000-25010"}, "22,25000-25010", 12},
      {{" 22 , 80 "}, "22,80", 2},
      {{"100-200", "150-250"}, "100-250", 151},  // overlapping ranges merge
      {{"100-200", "201-300"}, "100-300", 201},  // adjacent ranges merge
      {{"300-400", "100-200"}, "100-200,300-400", 202},
      {{"5,3,4,1"}, "1,3-5", 4},
      {{"10-20,12-15"}, "10-20", 11},
      {{"7-7"}, "7", 1},
      {{"00080"}, "80", 1},
      {{""}, "", 0},
      {{"  "}, "", 0},
      {{}, "", 0},
  };
  for (const GoodCase& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.specs));
    auto set = PortRangeSet::parse(std::span<const std::string>(c.specs));
    ASSERT_TRUE(set.has_value()) << set.error().describe();
    EXPECT_EQ(set->to_string(), c.canonical);
    EXPECT_EQ(set->size(), c.size);
    auto again = PortRangeSet::parse(set->to_string());
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(*again, *set);
  }
}

struct BadCase {
  std::vector<std::string> specs;
  std::string message;
};

TEST(PortRangeSetTest, RejectsBadSpecsNamingTheEntry) {
  const std::vector<BadCase> cases = {
      {{"abc"}, "port range \"abc\": \"abc\" is not a number"},
      {{"0"}, "port range \"0\": 0 is not a port between 1 and 65535"},
      {{"65536"}, "port range \"65536\": 65536 is not a port between 1 and 65535"},
      {{"99999999999999999999999"}, "port range \"99999999999999999999999\": 99999999999999999999999 is not a port between 1 and 65535"},
      {{"30000-20000"}, "port range \"30000-20000\": start is greater than end"},
      {{"-5"}, "port range \"-5\": start: missing port number"},
      {{"5-"}, "port range \"5-\": end: missing port number"},
      {{"1-2-3"}, "port range \"1-2-3\": end: \"2-3\" is not a number"},
      {{"22,,25"}, "port range \"\": empty entry (stray comma?)"},
      {{"22,"}, "port range \"\": empty entry (stray comma?)"},
      {{"+22"}, "port range \"+22\": \"+22\" is not a number"},
      {{"20000-29999", "1000-x"}, "port range \"1000-x\": end: \"x\" is not a number"},
      {{"20000-70000"}, "port range \"20000-70000\": end: 70000 is not a port between 1 and 65535"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.specs));
    auto set = PortRangeSet::parse(std::span<const std::string>(c.specs));
    ASSERT_FALSE(set.has_value());
    EXPECT_EQ(set.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(set.error().message, c.message);
  }
}

TEST(PortRangeSetTest, ContainsAndIteratesInAscendingOrder) {
  auto set = PortRangeSet::parse("30-32,10,20-21,65535");
  ASSERT_TRUE(set.has_value());
  std::vector<Port> ports(set->begin(), set->end());
  EXPECT_EQ(ports, (std::vector<Port>{10, 20, 21, 30, 31, 32, 65535}));
  for (Port p : {10, 20, 21, 30, 31, 32, 65535}) EXPECT_TRUE(set->contains(p)) << p;
  for (Port p : {0, 9, 11, 19, 22, 29, 33, 65534, 65536, -1}) EXPECT_FALSE(set->contains(p)) << p;
  EXPECT_EQ(PortRangeSet().begin(), PortRangeSet().end());
}

TEST(PortRangeSetTest, MinusRemovesExclusions) {
  struct Case {
    std::string ranges, excluded, expected;
  };
  const std::vector<Case> cases = {
      {"20000-29999", "22,25000-25010", "20000-24999,25011-29999"},
      {"100-200", "", "100-200"},
      {"100-200", "100-200", ""},
      {"100-200", "50-150", "151-200"},
      {"100-200", "150-250", "100-149"},
      {"100-200,300-400", "150-350", "100-149,351-400"},
      {"100-200", "100,200,150", "101-149,151-199"},
      {"10-20", "1-5,30-40", "10-20"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.ranges + " minus " + c.excluded);
    auto ranges = PortRangeSet::parse(c.ranges);
    auto excluded = PortRangeSet::parse(c.excluded);
    ASSERT_TRUE(ranges && excluded);
    EXPECT_EQ(ranges->minus(*excluded).to_string(), c.expected);
  }
}

}  // namespace
}  // namespace berth::ports
