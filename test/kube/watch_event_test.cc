#include "kube/watch_event.h"

#include <gtest/gtest.h>

namespace berth::kube {
namespace {

TEST(WatchEventTest, ParsesEveryType) {
  struct Case {
    const char* type;
    WatchEventType expected;
  };
  for (const Case& c : {Case{"ADDED", WatchEventType::kAdded}, Case{"MODIFIED", WatchEventType::kModified},
                        Case{"DELETED", WatchEventType::kDeleted}, Case{"BOOKMARK", WatchEventType::kBookmark},
                        Case{"ERROR", WatchEventType::kError}}) {
    auto e = parse_watch_event(std::string(R"({"type":")") + c.type + R"(","object":{"metadata":{"name":"a"}}})");
    ASSERT_TRUE(e) << c.type << ": " << e.error().describe();
    EXPECT_EQ(e->type, c.expected);
    EXPECT_EQ(e->object["metadata"]["name"], "a");
  }
}

TEST(WatchEventTest, RejectsMalformedLines) {
  for (const char* line : {"", "not json", "{\"type\":\"ADDED\",\"object\":{}", "[1,2]", "{\"object\":{}}",
                           "{\"type\":7,\"object\":{}}", "{\"type\":\"SOMETHING\",\"object\":{}}",
                           "{\"type\":\"ADDED\"}", "{\"type\":\"ADDED\",\"object\":\"x\"}",
                           "{\"type\":\"ADDED\",\"object\":null}", "\xff\xfe"}) {
    auto e = parse_watch_event(line);
    ASSERT_FALSE(e) << line;
    EXPECT_EQ(e.error().code, ErrorCode::kParse) << line;
  }
}

TEST(WatchEventTest, UnknownFieldsAreIgnored) {
  auto e = parse_watch_event(R"({"type":"DELETED","object":{"kind":"Service"},"extra":[1]})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, WatchEventType::kDeleted);
}

}  // namespace
}  // namespace berth::kube
