// --log-format json: berth's "words key=value" messages become JSON fields; anything else is
// kept whole; no message can break the line.
#include "common/json_log_formatter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

namespace berth {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

TEST(SplitLogFields, WordsThenPairsWithQuotedValues) {
  auto s = split_log_fields("haproxy reloaded worker=42 listeners=3 reasons=\"listener added p20000 (a/b:3306)\"");
  EXPECT_EQ(s.msg, "haproxy reloaded");
  EXPECT_EQ(s.fields, (Fields{{"worker", "42"}, {"listeners", "3"}, {"reasons", "listener added p20000 (a/b:3306)"}}));
  auto escaped = split_log_fields(R"(watch failed error="say \"hi\" \\ now")");
  EXPECT_EQ(escaped.fields, (Fields{{"error", R"(say "hi" \ now)"}}));
  auto empty_value = split_log_fields("starting exclude= quarantine=10m0s");
  EXPECT_EQ(empty_value.fields, (Fields{{"exclude", ""}, {"quarantine", "10m0s"}}));
}

TEST(SplitLogFields, AnythingElseIsKeptWholeInMsg) {
  for (const std::string m : {"allocated port=1 and then some words", "a Key=v", "x msg=clash", "dup a=1 a=2",
                              "open quote=\"never closed", "glued=\"v\"tail", "plain words only"}) {
    auto s = split_log_fields(m);
    EXPECT_EQ(s.msg, m) << m;
    EXPECT_TRUE(s.fields.empty()) << m;
  }
}

TEST(JsonLogFormatter, OneJsonObjectPerLineWithUtcTimeLevelLoggerAndFields) {
  JsonLogFormatter formatter;
  const auto time = std::chrono::system_clock::time_point(std::chrono::seconds(1796156097)) +
                    std::chrono::microseconds(407112);  // 2026-12-01T20:14:57.407112Z
  spdlog::details::log_msg msg(time, {}, "allocator", spdlog::level::warn,
                               "PortConflict service=default/db message=\"line one\nline two\"");
  spdlog::memory_buf_t out;
  formatter.format(msg, out);
  const std::string text(out.data(), out.size());
  ASSERT_TRUE(text.ends_with("}\n"));
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << "a newline in a value is escaped";
  auto json = nlohmann::json::parse(text);
  EXPECT_EQ(json["ts"], "2026-12-01T20:14:57.407112Z");
  EXPECT_EQ(json["level"], "warning");
  EXPECT_EQ(json["logger"], "allocator");
  EXPECT_EQ(json["msg"], "PortConflict");
  EXPECT_EQ(json["service"], "default/db");
  EXPECT_EQ(json["message"], "line one\nline two");
}

TEST(JsonLogFormatter, InvalidUtf8IsReplacedNotThrown) {
  JsonLogFormatter formatter;
  spdlog::details::log_msg msg("dataplane", spdlog::level::info, "InvalidName service=ns/\xff\xfe");
  spdlog::memory_buf_t out;
  formatter.format(msg, out);
  auto json = nlohmann::json::parse(std::string(out.data(), out.size()));
  EXPECT_EQ(json["msg"], "InvalidName");
  EXPECT_TRUE(json.contains("service"));
}

}  // namespace
}  // namespace berth
