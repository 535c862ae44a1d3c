#include "kube-sim/strategic_merge_patch.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace berth::kubesim {
namespace {

using nlohmann::json;

struct PatchCase {
  std::string name;
  std::string kind;
  json original;
  json patch;
  json expected;
};

void PrintTo(const PatchCase& c, std::ostream* os) { *os << c.name; }

class StrategicMergePatchTest : public ::testing::TestWithParam<PatchCase> {};

TEST_P(StrategicMergePatchTest, Applies) {
  auto r = strategic_merge_patch(GetParam().kind, GetParam().original, GetParam().patch);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, GetParam().expected) << r->dump();
}

const json kPorts = json::parse(R"({"metadata":{"name":"db","annotations":{"a":"1"}},
  "spec":{"ports":[{"name":"mysql","port":3306,"protocol":"TCP","targetPort":3306},
                   {"name":"admin","port":33062,"protocol":"TCP","targetPort":33062}],
          "selector":{"app":"db","tier":"x"}}})");

json with(json base, const std::string& pointer, json value) {
  base[json::json_pointer(pointer)] = std::move(value);
  return base;
}

INSTANTIATE_TEST_SUITE_P(
    Kubectl, StrategicMergePatchTest,
    ::testing::Values(
        // kubectl label / annotate
        PatchCase{"label", "Service", kPorts, json::parse(R"({"metadata":{"labels":{"app":"db"}}})"),
             with(kPorts, "/metadata/labels", {{"app", "db"}})},
        PatchCase{"annotate-remove", "Service", kPorts, json::parse(R"({"metadata":{"annotations":{"a":null}}})"),
             with(kPorts, "/metadata/annotations", json::object())},
        // kubectl apply, second time, with one port removed from the manifest.
        PatchCase{"apply-remove-port", "Service", kPorts, json::parse(R"({
               "metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}\n"}},
               "spec":{"$setElementOrder/ports":[{"port":3306}],"ports":[{"$patch":"delete","port":33062}]}})"),
             with(with(kPorts, "/spec/ports", json::parse(R"([{"name":"mysql","port":3306,"protocol":"TCP","targetPort":3306}])")),
                  "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration", "{}\n")},
        // kubectl apply adding a port in front: the new order comes from $setElementOrder.
        PatchCase{"apply-add-port-first", "Service", kPorts, json::parse(R"({
               "spec":{"$setElementOrder/ports":[{"port":80},{"port":3306},{"port":33062}],
                       "ports":[{"name":"http","port":80,"targetPort":8080}]}})"),
             with(kPorts, "/spec/ports", json::parse(R"([{"name":"http","port":80,"targetPort":8080},
                   {"name":"mysql","port":3306,"protocol":"TCP","targetPort":3306},
                   {"name":"admin","port":33062,"protocol":"TCP","targetPort":33062}])"))},
        // Changing one field of one port keeps the others; null deletes a field of an element.
        PatchCase{"apply-change-port", "Service", kPorts, json::parse(R"({
               "spec":{"$setElementOrder/ports":[{"port":3306},{"port":33062}],
                       "ports":[{"port":3306,"targetPort":13306},{"port":33062,"name":null}]}})"),
             with(kPorts, "/spec/ports", json::parse(R"([{"name":"mysql","port":3306,"protocol":"TCP","targetPort":13306},
                   {"port":33062,"protocol":"TCP","targetPort":33062}])"))},
        PatchCase{"map-null-deletes", "Service", kPorts, json::parse(R"({"spec":{"selector":{"tier":null}}})"),
             with(kPorts, "/spec/selector", {{"app", "db"}})},
        PatchCase{"map-replace", "Service", kPorts, json::parse(R"({"spec":{"selector":{"$patch":"replace","app":"web"}}})"),
             with(kPorts, "/spec/selector", {{"app", "web"}})},
        PatchCase{"map-delete", "Service", kPorts, json::parse(R"({"spec":{"selector":{"$patch":"delete"}}})"),
             [] { json j = kPorts; j["spec"].erase("selector"); return j; }()},
        PatchCase{"list-replace-directive", "Service", kPorts,
             json::parse(R"({"spec":{"ports":[{"$patch":"replace"},{"port":1,"name":"one"}]}})"),
             with(kPorts, "/spec/ports", json::parse(R"([{"port":1,"name":"one"}])"))},
        // Lists without a merge key are replaced.
        PatchCase{"endpointslice-endpoints-replaced", "EndpointSlice",
             json::parse(R"({"endpoints":[{"addresses":["10.0.0.1"]},{"addresses":["10.0.0.2"]}]})"),
             json::parse(R"({"endpoints":[{"addresses":["10.0.0.3"]}]})"),
             json::parse(R"({"endpoints":[{"addresses":["10.0.0.3"]}]})")},
        PatchCase{"ports-replaced-for-other-kinds", "EndpointSlice", json::parse(R"({"ports":[{"port":1},{"port":2}]})"),
             json::parse(R"({"ports":[{"port":2,"name":"x"}]})"), json::parse(R"({"ports":[{"port":2,"name":"x"}]})")},
        // Finalizers merge as a set; $deleteFromPrimitiveList removes.
        PatchCase{"finalizers-merge", "Service", json::parse(R"({"metadata":{"finalizers":["a","b"]}})"),
             json::parse(R"({"metadata":{"finalizers":["c","a"]}})"), json::parse(R"({"metadata":{"finalizers":["a","b","c"]}})")},
        PatchCase{"finalizers-delete", "Service", json::parse(R"({"metadata":{"finalizers":["a","b","c"]}})"),
             json::parse(R"({"metadata":{"$deleteFromPrimitiveList/finalizers":["b"]}})"),
             json::parse(R"({"metadata":{"finalizers":["a","c"]}})")},
        PatchCase{"finalizers-order", "Service", json::parse(R"({"metadata":{"finalizers":["a","b"]}})"),
             json::parse(R"({"metadata":{"$setElementOrder/finalizers":["b","a"]}})"),
             json::parse(R"({"metadata":{"finalizers":["b","a"]}})")},
        PatchCase{"owner-references-by-uid", "Lease",
             json::parse(R"({"metadata":{"ownerReferences":[{"uid":"1","name":"a"},{"uid":"2","name":"b"}]}})"),
             json::parse(R"({"metadata":{"ownerReferences":[{"uid":"2","name":"B"}]}})"),
             json::parse(R"({"metadata":{"ownerReferences":[{"uid":"1","name":"a"},{"uid":"2","name":"B"}]}})")},
        PatchCase{"retain-keys", "Lease", json::parse(R"({"spec":{"a":1,"b":2,"c":3}})"),
             json::parse(R"({"spec":{"$retainKeys":["a","c"],"c":4}})"), json::parse(R"({"spec":{"a":1,"c":4}})")},
        PatchCase{"new-nested-map", "Lease", json::parse(R"({"metadata":{"name":"l"}})"),
             json::parse(R"({"spec":{"holderIdentity":"me","x":null}})"),
             json::parse(R"({"metadata":{"name":"l"},"spec":{"holderIdentity":"me"}})")}),
    [](const ::testing::TestParamInfo<PatchCase>& info) {
      std::string n = info.param.name;
      for (char& c : n) {
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return n;
    });

TEST(StrategicMergePatchErrorTest, MalformedPatchesAreBadRequests) {
  for (const char* bad : {R"([1])", R"({"spec":{"ports":[{"name":"no-key"}]}})", R"({"spec":{"ports":[7]}})",
                          R"({"spec":{"$patch":"explode"}})", R"({"spec":{"$retainKeys":"a"}})",
                          R"({"$patch":"delete"})"}) {
    auto r = strategic_merge_patch("Service", kPorts, json::parse(bad));
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(r.error().http_status, 400) << bad;
  }
}

}  // namespace
}  // namespace berth::kubesim
