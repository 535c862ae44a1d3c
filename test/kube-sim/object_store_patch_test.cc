// PATCH through the store: the three patch types, preconditions, and what they may not change.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kube-sim/object_store.h"

namespace berth::kubesim {
namespace {

using nlohmann::json;
using kube::PatchType;
using ::testing::HasSubstr;

class ObjectStorePatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = store_.create(kube::kServices, "default",
                           json::parse(R"({"metadata":{"name":"db","annotations":{"ingress":"haproxy-ingress"}},
                             "spec":{"ports":[{"name":"mysql","port":3306},{"name":"admin","port":33062}],
                                     "selector":{"app":"db"}}})"));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    created_ = *r;
  }
  std::string version() const { return created_["metadata"]["resourceVersion"]; }

  ObjectStore store_;
  json created_;
};

TEST_F(ObjectStorePatchTest, MergePatchAddsAnnotationWithPrecondition) {
  json patch = {{"metadata", {{"resourceVersion", version()}, {"annotations", {{"haproxy-ingress/3306", "26735"}}}}}};
  auto r = store_.patch(kube::kServices, "default", "db", PatchType::kMerge, patch);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)["metadata"]["annotations"]["haproxy-ingress/3306"], "26735");
  EXPECT_EQ((*r)["metadata"]["annotations"]["ingress"], "haproxy-ingress");
  EXPECT_EQ((*r)["metadata"]["uid"], created_["metadata"]["uid"]);
  EXPECT_EQ((*r)["spec"]["clusterIP"], created_["spec"]["clusterIP"]);

  // Same precondition again: stale now.
  auto stale = store_.patch(kube::kServices, "default", "db", PatchType::kMerge, patch);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_EQ(stale.error().http_status, 409);
  EXPECT_THAT(stale.error().message, HasSubstr("Operation cannot be fulfilled on services \"db\""));
}

TEST_F(ObjectStorePatchTest, PatchThatChangesNothingKeepsVersion) {
  auto r = store_.patch(kube::kServices, "default", "db", PatchType::kMerge,
                        json{{"metadata", {{"annotations", {{"ingress", "haproxy-ingress"}}}}}});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ((*r)["metadata"]["resourceVersion"], version());
}

TEST_F(ObjectStorePatchTest, MergePatchReplacesLists) {
  auto r = store_.patch(kube::kServices, "default", "db", PatchType::kMerge,
                        json::parse(R"({"spec":{"ports":[{"port":5432}]}})"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ((*r)["spec"]["ports"].size(), 1u);
  EXPECT_EQ((*r)["spec"]["ports"][0]["targetPort"], 5432);  // defaulted again
  EXPECT_EQ((*r)["spec"]["ports"][0]["protocol"], "TCP");
}

TEST_F(ObjectStorePatchTest, StrategicMergeRemovesAPortAsKubectlApplyDoes) {
  json patch = json::parse(R"({"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\n"}},
    "spec":{"$setElementOrder/ports":[{"port":3306}],"ports":[{"$patch":"delete","port":33062}]}})");
  auto r = store_.patch(kube::kServices, "default", "db", PatchType::kStrategicMerge, patch);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  ASSERT_EQ((*r)["spec"]["ports"].size(), 1u);
  EXPECT_EQ((*r)["spec"]["ports"][0]["name"], "mysql");
  EXPECT_EQ((*r)["spec"]["ports"][0]["targetPort"], 3306);
  EXPECT_FALSE((*r)["spec"].contains("$setElementOrder/ports"));
}

// The bodies kubectl 1.32 sent to kube-sim (captured with -v=9) for: apply without the admin
// port and with a new selector key, then apply with a new first port, a changed targetPort and
// the selector key gone again.
TEST(ObjectStoreKubectlApplyTest, CapturedApplySequence) {
  ObjectStore store;
  json created = *store.create(kube::kServices, "default", json::parse(R"({"metadata":{"name":"mysqlcluster",
    "annotations":{"ingress":"haproxy-ingress"}},"spec":{"ports":[{"name":"mysql","port":3306,"protocol":"TCP","targetPort":3306},
    {"name":"admin","port":33062,"protocol":"TCP","targetPort":33062}],"selector":{"app":"mysqlcluster"}}})"));
  auto second = store.patch(kube::kServices, "default", "mysqlcluster", PatchType::kStrategicMerge, json::parse(R"(
    {"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\n"}},
     "spec":{"$setElementOrder/ports":[{"port":3306}],"ports":[{"$patch":"delete","port":33062}],"selector":{"tier":"db"}}})"));
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_EQ((*second)["spec"]["ports"], json::parse(R"([{"name":"mysql","port":3306,"protocol":"TCP","targetPort":3306}])"));
  EXPECT_EQ((*second)["spec"]["selector"], json::parse(R"({"app":"mysqlcluster","tier":"db"})"));
  auto third = store.patch(kube::kServices, "default", "mysqlcluster", PatchType::kStrategicMerge, json::parse(R"(
    {"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\n"}},
     "spec":{"$setElementOrder/ports":[{"port":80},{"port":3306}],"ports":[{"name":"http","port":80},
             {"port":3306,"targetPort":13306}],"selector":{"tier":null}}})"));
  ASSERT_TRUE(third.has_value()) << third.error().message;
  EXPECT_EQ((*third)["spec"]["ports"], json::parse(R"([{"name":"http","port":80,"protocol":"TCP","targetPort":80},
    {"name":"mysql","port":3306,"protocol":"TCP","targetPort":13306}])"));
  EXPECT_EQ((*third)["spec"]["selector"], json::parse(R"({"app":"mysqlcluster"})"));
  EXPECT_EQ((*third)["spec"]["clusterIP"], created["spec"]["clusterIP"]);
  // kubectl label / kubectl annotate key-
  auto labelled = store.patch(kube::kServices, "default", "mysqlcluster", PatchType::kStrategicMerge,
                              json::parse(R"({"metadata":{"labels":{"a":"b"}}})"));
  ASSERT_TRUE(labelled.has_value());
  auto unannotated = store.patch(kube::kServices, "default", "mysqlcluster", PatchType::kStrategicMerge,
                                 json::parse(R"({"metadata":{"annotations":{"ingress":null}}})"));
  ASSERT_TRUE(unannotated.has_value());
  EXPECT_EQ((*unannotated)["metadata"]["labels"], json::parse(R"({"a":"b"})"));
  EXPECT_FALSE((*unannotated)["metadata"]["annotations"].contains("ingress"));
}

TEST_F(ObjectStorePatchTest, StrategicMergeResultIsValidated) {
  auto r = store_.patch(kube::kServices, "default", "db", PatchType::kStrategicMerge,
                        json::parse(R"({"spec":{"ports":[{"port":3306,"protocol":"XTP"}]}})"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().http_status, 422);
  EXPECT_THAT(r.error().message, HasSubstr("spec.ports[0].protocol: Unsupported value: \"XTP\""));
}

TEST_F(ObjectStorePatchTest, JsonPatch) {
  json ok = json::parse(R"([{"op":"test","path":"/metadata/annotations/ingress","value":"haproxy-ingress"},
                             {"op":"add","path":"/metadata/labels","value":{"a":"b"}}])");
  auto r = store_.patch(kube::kServices, "default", "db", PatchType::kJson, ok);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)["metadata"]["labels"]["a"], "b");

  // A failed test and a missing path are 422, as kube-apiserver answers; a body that is not a
  // patch document is 400.
  auto failed = store_.patch(kube::kServices, "default", "db", PatchType::kJson,
                             json::parse(R"([{"op":"test","path":"/metadata/name","value":"other"}])"));
  ASSERT_FALSE(failed.has_value());
  EXPECT_EQ(failed.error().http_status, 422);
  auto missing = store_.patch(kube::kServices, "default", "db", PatchType::kJson,
                              json::parse(R"([{"op":"remove","path":"/spec/nothing"}])"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().http_status, 422);
  auto malformed = store_.patch(kube::kServices, "default", "db", PatchType::kJson, json{{"op", "add"}});
  ASSERT_FALSE(malformed.has_value());
  EXPECT_EQ(malformed.error().http_status, 400);
  auto bad_op = store_.patch(kube::kServices, "default", "db", PatchType::kJson,
                             json::parse(R"([{"op":"frobnicate","path":"/a"}])"));
  ASSERT_FALSE(bad_op.has_value());
  EXPECT_EQ(bad_op.error().http_status, 400);

  // A resourceVersion written by the patch is a precondition too.
  auto stale = store_.patch(kube::kServices, "default", "db", PatchType::kJson,
                            json::parse(R"([{"op":"replace","path":"/metadata/resourceVersion","value":"1"}])"));
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
}

TEST_F(ObjectStorePatchTest, ServerFieldsAndNameSurvivePatches) {
  auto r = store_.patch(kube::kServices, "default", "db", PatchType::kMerge,
                        json::parse(R"({"metadata":{"uid":"x","creationTimestamp":"2000-01-01T00:00:00Z"}})"));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ((*r)["metadata"]["uid"], created_["metadata"]["uid"]);
  EXPECT_EQ((*r)["metadata"]["creationTimestamp"], created_["metadata"]["creationTimestamp"]);
  auto renamed = store_.patch(kube::kServices, "default", "db", PatchType::kMerge,
                              json::parse(R"({"metadata":{"name":"other"}})"));
  ASSERT_FALSE(renamed.has_value());
  EXPECT_EQ(renamed.error().http_status, 400);
}

TEST_F(ObjectStorePatchTest, MissingObjectOrNamespaceIsNotFound) {
  auto r = store_.patch(kube::kServices, "default", "nope", PatchType::kMerge, json::object());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "services \"nope\" not found");
  auto ns = store_.patch(kube::kServices, "ghost", "db", PatchType::kMerge, json::object());
  ASSERT_FALSE(ns.has_value());
  EXPECT_EQ(ns.error().message, "namespaces \"ghost\" not found");
  auto not_object = store_.patch(kube::kServices, "default", "db", PatchType::kMerge, json::array());
  ASSERT_FALSE(not_object.has_value());
  EXPECT_EQ(not_object.error().http_status, 400);
}

}  // namespace
}  // namespace berth::kubesim
