#include "common/go_duration.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth {
namespace {

using namespace std::chrono_literals;

TEST(GoDuration, ParsesWhatGoAccepts) {
  struct Case {
    std::string text;
    std::chrono::nanoseconds expected;
  };
  const std::vector<Case> cases = {
      {"0", 0ns},          {"0s", 0ns},         {"15s", 15s},          {"10m", 10min},
      {"1h30m", 90min},    {"500ms", 500ms},    {"1.5s", 1500ms},      {"2h45m30.5s", 2h + 45min + 30500ms},
      {"300us", 300us},    {"300\xC2\xB5s", 300us}, {"7ns", 7ns},      {".5s", 500ms},
      {"1m0s", 1min},      {"100h", 100h},
  };
  for (const Case& c : cases) {
    auto parsed = parse_go_duration(c.text);
    ASSERT_TRUE(parsed) << c.text << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, c.expected) << c.text;
  }
}

TEST(GoDuration, RejectsWithAMessageQuotingTheInput) {
  for (std::string text : {"", "10", "-5s", "+5s", "5x", "s", "1.s.", "ten seconds", "5 s", "1h-30m",
                           "3000000h"}) {
    auto parsed = parse_go_duration(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("\"" + text + "\""), std::string::npos) << parsed.error().message;
  }
}

TEST(GoDuration, FormatsLikeGo) {
  EXPECT_EQ(format_go_duration(0ns), "0s");
  EXPECT_EQ(format_go_duration(10min), "10m0s");
  EXPECT_EQ(format_go_duration(90min), "1h30m0s");
  EXPECT_EQ(format_go_duration(15s), "15s");
  EXPECT_EQ(format_go_duration(1500ms), "1.5s");
  EXPECT_EQ(format_go_duration(500ms), "500ms");
  EXPECT_EQ(format_go_duration(1500us), "1.5ms");
  EXPECT_EQ(format_go_duration(7ns), "7ns");
  EXPECT_EQ(format_go_duration(-2s), "-2s");
}

TEST(GoDuration, FormatThenParseIsTheIdentity) {
  for (std::chrono::nanoseconds d : std::vector<std::chrono::nanoseconds>{1ns, 999ns, 1us, 1234567ns, 1s, 61s, 3601s, 100h + 1ns}) {
    auto parsed = parse_go_duration(format_go_duration(d));
    ASSERT_TRUE(parsed) << format_go_duration(d);
    EXPECT_EQ(*parsed, d);
  }
}

}  // namespace
}  // namespace berth
