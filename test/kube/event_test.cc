#include "kube/event.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::kube {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(EventTest, ParsesCoreV1Event) {
  auto ev = parse_event(json::parse(R"({
    "apiVersion": "v1", "kind": "Event",
    "metadata": {"name": "mysqlcluster.187a", "namespace": "default"},
    "involvedObject": {"kind": "Service", "apiVersion": "v1", "namespace": "default", "name": "mysqlcluster",
                       "uid": "u-1", "resourceVersion": "42", "fieldPath": ""},
    "reason": "PortAllocated", "message": "3306 -> 26735", "type": "Normal", "count": 2,
    "firstTimestamp": "2026-11-23T19:00:00Z", "lastTimestamp": "2026-11-23T19:05:00Z",
    "source": {"component": "berth", "host": "lb-1"}, "reportingComponent": ""
  })"));
  ASSERT_TRUE(ev) << ev.error().describe();
  EXPECT_EQ(ev->involved_object,
            (ObjectReference{"Service", "v1", "default", "mysqlcluster", "u-1", "42"}));
  EXPECT_EQ(ev->reason, "PortAllocated");
  EXPECT_EQ(ev->message, "3306 -> 26735");
  EXPECT_EQ(ev->type, "Normal");
  EXPECT_EQ(ev->count, 2);
  EXPECT_EQ(ev->first_timestamp, "2026-11-23T19:00:00Z");
  EXPECT_EQ(ev->last_timestamp, "2026-11-23T19:05:00Z");
  EXPECT_EQ(ev->source_component, "berth");
  EXPECT_EQ(ev->source_host, "lb-1");
}

TEST(EventTest, WrongTypesNameTheField) {
  for (auto [patch, field] : {std::pair{R"({"count": "2"})", "count is not an integer"},
                              std::pair{R"({"reason": []})", "reason is not a string"},
                              std::pair{R"({"involvedObject": {"name": 1}})", "involvedObject.name is not a string"},
                              std::pair{R"({"involvedObject": "svc"})", "involvedObject is not an object"},
                              std::pair{R"({"source": {"component": false}})", "source.component is not a string"}}) {
    json doc = {{"metadata", {{"name", "e"}, {"namespace", "n"}}}};
    doc.merge_patch(json::parse(patch));
    auto ev = parse_event(doc);
    ASSERT_FALSE(ev) << patch;
    EXPECT_EQ(ev.error().code, ErrorCode::kParse);
    EXPECT_THAT(ev.error().message, HasSubstr(field));
  }
}

TEST(EventTest, ToJsonRoundTrips) {
  Event ev;
  ev.meta.name = "svc.1";
  ev.meta.namespace_ = "default";
  ev.involved_object = {"Service", "v1", "default", "svc", "uid-9", ""};
  ev.reason = "InvalidAnnotation";
  ev.message = "bad";
  ev.type = "Warning";
  ev.count = 1;
  ev.first_timestamp = ev.last_timestamp = "2026-11-23T19:00:00Z";
  ev.source_component = "berth";
  json doc = to_json(ev);
  EXPECT_EQ(doc["apiVersion"], "v1");
  EXPECT_EQ(doc["kind"], "Event");
  EXPECT_FALSE(doc["involvedObject"].contains("resourceVersion"));
  EXPECT_EQ(doc["source"]["component"], "berth");
  auto back = parse_event(doc);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->involved_object, ev.involved_object);
  EXPECT_EQ(back->reason, ev.reason);
  EXPECT_EQ(back->type, "Warning");
  EXPECT_EQ(back->meta.key(), "default/svc.1");
}

}  // namespace
}  // namespace berth::kube
