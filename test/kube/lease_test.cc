#include "kube/lease.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kube/micro_time.h"

namespace berth::kube {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

TEST(LeaseTest, ParsesSpec) {
  auto lease = parse_lease(json::parse(R"({
    "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
    "metadata": {"name": "berth-leader", "namespace": "berth-system", "resourceVersion": "7",
                 "annotations": {"berth.io/note": "x"}},
    "spec": {"holderIdentity": "berth-0", "leaseDurationSeconds": 15,
             "acquireTime": "2026-11-23T19:00:00.000000Z", "renewTime": "2026-11-23T19:29:33.123456Z",
             "leaseTransitions": 3, "strategy": "future"}
  })"));
  ASSERT_TRUE(lease) << lease.error().describe();
  EXPECT_EQ(lease->meta.key(), "berth-system/berth-leader");
  EXPECT_EQ(lease->meta.resource_version, "7");
  EXPECT_EQ(lease->meta.annotations.at("berth.io/note"), "x");
  EXPECT_EQ(lease->holder_identity, "berth-0");
  EXPECT_EQ(lease->lease_duration_seconds, 15);
  EXPECT_EQ(lease->acquire_time, "2026-11-23T19:00:00.000000Z");
  EXPECT_EQ(lease->renew_time, "2026-11-23T19:29:33.123456Z");
  EXPECT_EQ(lease->lease_transitions, 3);
}

TEST(LeaseTest, EmptySpec) {
  auto lease = parse_lease(json::parse(R"({"metadata":{"name":"l","namespace":"n"},"spec":{}})"));
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->holder_identity, "");
  EXPECT_FALSE(lease->lease_duration_seconds);
  EXPECT_EQ(lease->lease_transitions, 0);
}

TEST(LeaseTest, WrongTypesNameTheField) {
  for (auto [spec, field] : {std::pair{R"({"holderIdentity": 5})", "spec.holderIdentity is not a string"},
                             std::pair{R"({"leaseDurationSeconds": "15"})", "spec.leaseDurationSeconds is not an integer"},
                             std::pair{R"({"leaseDurationSeconds": 99999999999})", "spec.leaseDurationSeconds is out of range"},
                             std::pair{R"({"renewTime": 1})", "spec.renewTime is not a string"},
                             std::pair{R"({"leaseTransitions": -1})", "spec.leaseTransitions is out of range"},
                             std::pair{R"([])", "spec is not an object"}}) {
    json doc = {{"metadata", {{"name", "l"}}}, {"spec", json::parse(spec)}};
    auto lease = parse_lease(doc);
    ASSERT_FALSE(lease) << spec;
    EXPECT_EQ(lease.error().code, ErrorCode::kParse);
    EXPECT_THAT(lease.error().message, HasSubstr(field));
  }
}

TEST(LeaseTest, ToJsonRoundTrips) {
  Lease lease;
  lease.meta.name = "berth-leader";
  lease.meta.namespace_ = "berth-system";
  lease.meta.resource_version = "9";
  lease.holder_identity = "berth-1";
  lease.lease_duration_seconds = 15;
  lease.renew_time = "2026-11-23T19:29:33.123456Z";
  lease.lease_transitions = 2;
  json doc = to_json(lease);
  EXPECT_EQ(doc["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(doc["kind"], "Lease");
  EXPECT_EQ(doc["metadata"]["resourceVersion"], "9");
  EXPECT_FALSE(doc["spec"].contains("acquireTime"));
  auto back = parse_lease(doc);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->holder_identity, "berth-1");
  EXPECT_EQ(back->lease_duration_seconds, 15);
  EXPECT_EQ(back->renew_time, lease.renew_time);
  EXPECT_EQ(back->lease_transitions, 2);
  EXPECT_EQ(back->meta.key(), "berth-system/berth-leader");
}

TEST(MicroTimeTest, FormatsAndParses) {
  using namespace std::chrono;
  auto t = sys_days{year{2026} / 11 / 23} + hours(19) + minutes(29) + seconds(33) + microseconds(123456);
  EXPECT_EQ(format_micro_time(t), "2026-11-23T19:29:33.123456Z");
  EXPECT_EQ(format_time(t), "2026-11-23T19:29:33Z");
  EXPECT_EQ(parse_time("2026-11-23T19:29:33.123456Z").value(), t);
  EXPECT_EQ(parse_time("2026-11-23T19:29:33Z").value(), floor<seconds>(t));
  EXPECT_EQ(parse_time("2026-11-23T21:29:33.123456+02:00").value(), t);
  for (const char* bad : {"", "2026-11-23", "2026-13-01T00:00:00Z", "2026-11-23T19:29:33", "2026-11-23T19:29:33.Z",
                          "2026-11-23T19:29:33Zjunk", "yesterday"}) {
    EXPECT_FALSE(parse_time(bad)) << bad;
  }
}

}  // namespace
}  // namespace berth::kube
