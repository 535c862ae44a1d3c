#include "controller/quarantine_record.h"

#include <gtest/gtest.h>

#include "controller/annotation_keys.h"

namespace berth::controller {
namespace {

using namespace std::chrono;

// 2026-11-23T19:29:33Z
const system_clock::time_point kT0{seconds(1'795'462'173)};

TEST(QuarantineRecordTest, FormatIsSortedByPortAndCompact) {
  QuarantinedPorts ports{{25001, kT0 + seconds(600)}, {3306, kT0}, {20000, kT0 + seconds(1)}};
  EXPECT_EQ(format_quarantine(ports), R"({"3306":1795462173,"20000":1795462174,"25001":1795462773})");
  EXPECT_EQ(format_quarantine({}), "{}");
}

TEST(QuarantineRecordTest, EqualStateGivesEqualBytes) {
  QuarantinedPorts a;
  QuarantinedPorts b;
  for (int port = 20000; port < 20010; ++port) a.emplace(port, kT0 + seconds(port));
  for (int port = 20009; port >= 20000; --port) b.emplace(port, kT0 + seconds(port));
  EXPECT_EQ(format_quarantine(a), format_quarantine(b));
}

TEST(QuarantineRecordTest, RoundTrip) {
  QuarantinedPorts ports{{1, kT0}, {20000, kT0 + minutes(10)}, {65535, system_clock::time_point{}}};
  auto parsed = parse_quarantine(format_quarantine(ports));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().describe();
  EXPECT_EQ(parsed->ports, ports);
  EXPECT_TRUE(parsed->problems.empty());
}

TEST(QuarantineRecordTest, SubSecondReleaseRoundsUpNeverShortening) {
  QuarantinedPorts ports{{20000, kT0 + milliseconds(1)}};
  auto parsed = parse_quarantine(format_quarantine(ports));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->ports.at(20000), kT0 + seconds(1));
}

TEST(QuarantineRecordTest, TolerantParsing) {
  struct Case {
    const char* name;
    const char* text;
    QuarantinedPorts ports;
    std::size_t problems;
  };
  const system_clock::time_point t(seconds(1'795'462'173));
  const Case cases[] = {
      {"empty text", "", {}, 0},
      {"blank text", " \n", {}, 0},
      {"empty object", "{}", {}, 0},
      {"spaces allowed", R"( { "20000" : 1795462173 } )", {{20000, t}}, 0},
      {"bad key skipped", R"({"abc":1795462173,"20000":1795462173})", {{20000, t}}, 1},
      {"leading-zero key skipped", R"({"020000":1795462173})", {}, 1},
      {"out-of-range key skipped", R"({"70000":1795462173,"0":1})", {}, 2},
      {"string value skipped", R"({"20000":"2026-11-23T19:29:33Z"})", {}, 1},
      {"negative value skipped", R"({"20000":-1})", {}, 1},
      {"fractional value skipped", R"({"20000":1.5})", {}, 1},
      {"huge value skipped", R"({"20000":18446744073709551615})", {}, 1},
      {"beyond the end of system_clock skipped", R"({"20000":9223372037})", {}, 1},
      {"year 9999 skipped", R"({"20000":253402300799})", {}, 1},
      {"null, object, array values skipped", R"({"1":null,"2":{},"3":[1]})", {}, 3},
      {"good entries kept among bad", R"({"1":0,"x":1,"2":9223372036})",
       {{1, system_clock::time_point{}}, {2, system_clock::time_point{seconds(9'223'372'036)}}}, 1},
  };
  for (const Case& c : cases) {
    auto parsed = parse_quarantine(c.text);
    ASSERT_TRUE(parsed.has_value()) << c.name << ": " << parsed.error().describe();
    EXPECT_EQ(parsed->ports, c.ports) << c.name;
    EXPECT_EQ(parsed->problems.size(), c.problems) << c.name;
  }
}

TEST(QuarantineRecordTest, ProblemsNameTheEntry) {
  auto parsed = parse_quarantine(R"({"abc":1})");
  ASSERT_TRUE(parsed.has_value());
  ASSERT_EQ(parsed->problems.size(), 1u);
  EXPECT_NE(parsed->problems[0].find("\"abc\""), std::string::npos) << parsed->problems[0];
}

TEST(QuarantineRecordTest, NotAnObjectIsAParseError) {
  for (const char* text : {"{", "not json", "[]", "42", "\"{}\"", "null", "{\"20000\":1}x", "\xff"}) {
    auto parsed = parse_quarantine(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, ErrorCode::kParse) << text;
  }
}

TEST(QuarantineRecordTest, TenThousandEntriesFitInTheAnnotationLimit) {
  QuarantinedPorts ports;
  // Worst case per entry: 5-digit ports, 10-digit seconds.
  for (int i = 0; i < 10'000; ++i) ports.emplace(20000 + i, kT0 + minutes(10) + seconds(i));
  std::string value = format_quarantine(ports);
  EXPECT_EQ(value.size(), 190'001u);
  EXPECT_LE(quarantine_key(AnnotationConfig{}).size() + value.size(), kMaxTotalAnnotationBytes);
  auto parsed = parse_quarantine(value);
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->ports, ports);
}

}  // namespace
}  // namespace berth::controller
