// The write helpers (annotation_patch.h, event_recorder.h, lease_client.h) against a mock ApiClient.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kube/annotation_patch.h"
#include "kube/event_recorder.h"
#include "kube/lease_client.h"

namespace berth::kube {
namespace {

using nlohmann::json;
using ::testing::_;
using ::testing::DoAll;
using ::testing::Eq;
using ::testing::Return;
using ::testing::SaveArg;

class MockApiClient : public ApiClient {
 public:
  MOCK_METHOD(Result<json>, get, (const ResourceType&, std::string_view, std::string_view), (override));
  MOCK_METHOD(Result<ListPage>, list, (const ResourceType&, std::string_view, const ListOptions&), (override));
  MOCK_METHOD(Result<void>, watch,
              (const ResourceType&, std::string_view, const WatchOptions&, const WatchHandler&, std::stop_token),
              (override));
  MOCK_METHOD(Result<json>, create, (const ResourceType&, std::string_view, const json&), (override));
  MOCK_METHOD(Result<json>, update, (const ResourceType&, std::string_view, std::string_view, const json&),
              (override));
  MOCK_METHOD(Result<json>, patch, (const ResourceType&, std::string_view, std::string_view, PatchType, const json&),
              (override));
  MOCK_METHOD(Result<void>, remove, (const ResourceType&, std::string_view, std::string_view), (override));
};

MATCHER_P(IsResource, plural, "") { return arg.plural == plural; }

TEST(AnnotationPatchTest, BodyShape) {
  json body = annotation_patch_body("42", {{"haproxy-ingress/3306", "26735"}, {"haproxy-ingress/5432", std::nullopt}});
  EXPECT_EQ(body, json::parse(R"({"metadata":{"resourceVersion":"42",
      "annotations":{"haproxy-ingress/3306":"26735","haproxy-ingress/5432":null}}})"));
  EXPECT_EQ(annotation_patch_body("", {{"a", "b"}}), json::parse(R"({"metadata":{"annotations":{"a":"b"}}})"));
}

TEST(AnnotationPatchTest, SendsAMergePatchAndPassesConflictThrough) {
  MockApiClient client;
  json sent;
  EXPECT_CALL(client, patch(IsResource("services"), Eq("default"), Eq("db"), PatchType::kMerge, _))
      .WillOnce([&](auto&&, auto, auto, auto, const json& p) -> Result<json> {
        sent = p;
        return json{{"metadata", {{"name", "db"}}}};
      })
      .WillOnce([](auto&&...) -> Result<json> { return make_error(ErrorCode::kConflict, "modified", 409); });
  auto ok = patch_annotations(client, "default", "db", "7", {{"k", "v"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(sent["metadata"]["resourceVersion"], "7");
  EXPECT_EQ(sent["metadata"]["annotations"]["k"], "v");
  auto conflict = patch_annotations(client, "default", "db", "6", {{"k", "v"}});
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
}

TEST(EventRecorderTest, CreatesAnEventInTheObjectsNamespace) {
  MockApiClient client;
  json sent;
  EXPECT_CALL(client, create(IsResource("events"), Eq("default"), _))
      .WillOnce([&](auto&&, auto, const json& object) -> Result<json> {
        sent = object;
        return object;
      });
  ObjectMeta meta;
  meta.name = "mysqlcluster";
  meta.namespace_ = "default";
  meta.uid = "uid-1";
  meta.resource_version = "42";
  auto now = std::chrono::sys_days{std::chrono::year{2026} / 11 / 23} + std::chrono::hours(19);
  auto ev = create_event(client, object_reference(kServices, meta), EventType::kWarning, "InvalidAnnotation",
                         "haproxy-ingress/balance: unknown algorithm", "berth", now);
  ASSERT_TRUE(ev) << ev.error().describe();
  EXPECT_EQ(sent["type"], "Warning");
  EXPECT_EQ(sent["reason"], "InvalidAnnotation");
  EXPECT_EQ(sent["involvedObject"]["kind"], "Service");
  EXPECT_EQ(sent["involvedObject"]["uid"], "uid-1");
  EXPECT_EQ(sent["source"]["component"], "berth");
  EXPECT_EQ(sent["firstTimestamp"], "2026-11-23T19:00:00Z");
  EXPECT_EQ(sent["count"], 1);
  EXPECT_TRUE(sent["metadata"]["name"].get<std::string>().starts_with("mysqlcluster."));
  EXPECT_EQ(ev->involved_object.name, "mysqlcluster");
}

TEST(EventRecorderTest, LongMessagesAreCutOnACharacterBoundary) {
  std::string message(1023, 'x');
  message += "\xc3\xa9tail";  // a two-byte character straddling byte 1024
  Event ev = make_event({"Service", "v1", "ns", "svc", "", ""}, EventType::kNormal, "R", message, "berth",
                        std::chrono::system_clock::time_point{});
  EXPECT_EQ(ev.message, std::string(1023, 'x'));
}

TEST(LeaseClientTest, GetCreateUpdate) {
  MockApiClient client;
  json stored = json::parse(R"({"metadata":{"name":"leader","namespace":"ns","resourceVersion":"5"},
                                "spec":{"holderIdentity":"a","leaseDurationSeconds":15}})");
  EXPECT_CALL(client, get(IsResource("leases"), Eq("ns"), Eq("leader"))).WillOnce(Return(Result<json>(stored)));
  auto got = get_lease(client, "ns", "leader");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->holder_identity, "a");

  json created;
  EXPECT_CALL(client, create(IsResource("leases"), Eq("ns"), _)).WillOnce(DoAll(SaveArg<2>(&created), Return(Result<json>(stored))));
  ASSERT_TRUE(create_lease(client, *got));
  EXPECT_FALSE(created["metadata"].contains("resourceVersion"));

  json updated;
  EXPECT_CALL(client, update(IsResource("leases"), Eq("ns"), Eq("leader"), _))
      .WillOnce(DoAll(SaveArg<3>(&updated),
                      [](auto&&...) -> Result<json> { return make_error(ErrorCode::kConflict, "stale", 409); }));
  Lease next = *got;
  next.holder_identity = "b";
  auto result = update_lease(client, next);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, ErrorCode::kConflict);
  EXPECT_EQ(updated["metadata"]["resourceVersion"], "5");
  EXPECT_EQ(updated["spec"]["holderIdentity"], "b");
}

TEST(LeaseClientTest, MalformedAnswerIsParseError) {
  MockApiClient client;
  EXPECT_CALL(client, get(_, _, _)).WillOnce(Return(Result<json>(json::parse(R"({"metadata":{"name":"l"},"spec":{"leaseTransitions":"x"}})"))));
  auto got = get_lease(client, "ns", "l");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kParse);
}

}  // namespace
}  // namespace berth::kube
