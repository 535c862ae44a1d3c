#include "kube/service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace berth::kube {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json good_service() {
  return json::parse(R"({
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "mysqlcluster", "namespace": "default", "resourceVersion": "42",
                 "annotations": {"ingress": "haproxy-ingress"}, "unknownMeta": 1},
    "spec": {
      "type": "ClusterIP", "clusterIP": "10.96.0.10",
      "ports": [
        {"name": "mysql", "port": 3306, "protocol": "TCP", "targetPort": 3306},
        {"name": "admin", "port": 33062, "targetPort": "admin-port"},
        {"port": 9104}
      ],
      "selector": {"app": "mysqlcluster"},
      "sessionAffinity": "None", "futureField": {"x": [1, 2]}
    },
    "status": {"loadBalancer": {}}
  })");
}

TEST(ServiceTest, ParsesTheFieldsBerthReads) {
  auto s = parse_service(good_service());
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(s->meta.key(), "default/mysqlcluster");
  EXPECT_EQ(s->meta.annotations.at("ingress"), "haproxy-ingress");
  EXPECT_EQ(s->type, "ClusterIP");
  EXPECT_EQ(s->cluster_ip, "10.96.0.10");
  ASSERT_EQ(s->ports.size(), 3u);
  EXPECT_EQ(s->ports[0], (ServicePort{"mysql", 3306, IntOrString{3306}, "TCP"}));
  EXPECT_FALSE(s->ports[1].target_port.is_int());
  EXPECT_EQ(s->ports[1].target_port.string_value(), "admin-port");
  EXPECT_EQ(s->ports[1].protocol, "TCP");
  // targetPort defaults to port, as the API server would have set it.
  EXPECT_TRUE(s->ports[2].target_port.is_int());
  EXPECT_EQ(s->ports[2].target_port.int_value(), 9104);
  EXPECT_EQ(s->ports[2].name, "");
  EXPECT_EQ(s->selector, (std::map<std::string, std::string>{{"app", "mysqlcluster"}}));
}

TEST(ServiceTest, MissingSpecIsAnEmptyClusterIpService) {
  auto s = parse_service(json::parse(R"({"metadata":{"name":"a","namespace":"b"}})"));
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(s->type, "ClusterIP");
  EXPECT_TRUE(s->ports.empty());
  EXPECT_TRUE(s->selector.empty());
}

struct Bad {
  const char* name;
  const char* pointer;  // JSON pointer of the field to replace
  json value;
  const char* field;    // the field the error must name
};

class ServiceMalformedTest : public ::testing::TestWithParam<Bad> {};

TEST_P(ServiceMalformedTest, ErrorNamesTheField) {
  json doc = good_service();
  doc[json::json_pointer(GetParam().pointer)] = GetParam().value;
  auto s = parse_service(doc);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kParse);
  EXPECT_THAT(s.error().message, HasSubstr(GetParam().field));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ServiceMalformedTest,
    ::testing::Values(Bad{"port_as_string", "/spec/ports/0/port", "3306", "spec.ports[0].port is not an integer"},
                      Bad{"port_huge", "/spec/ports/1/port", 1e20, "spec.ports[1].port is not an integer"},
                      Bad{"port_huge_int", "/spec/ports/1/port", 18446744073709551615ull, "spec.ports[1].port is out of range"},
                      Bad{"port_zero", "/spec/ports/0/port", 0, "spec.ports[0].port is out of range"},
                      Bad{"port_negative", "/spec/ports/0/port", -1, "spec.ports[0].port is out of range"},
                      Bad{"port_fraction", "/spec/ports/0/port", 33.5, "spec.ports[0].port is not an integer"},
                      Bad{"port_missing", "/spec/ports/2", json::object(), "spec.ports[2].port is missing"},
                      Bad{"target_port_bool", "/spec/ports/0/targetPort", true, "spec.ports[0].targetPort"},
                      Bad{"target_port_huge", "/spec/ports/0/targetPort", 70000, "spec.ports[0].targetPort is out of range"},
                      Bad{"ports_not_array", "/spec/ports", json::object(), "spec.ports is not an array"},
                      Bad{"port_not_object", "/spec/ports/1", 5, "spec.ports[1] is not an object"},
                      Bad{"name_number", "/spec/ports/0/name", 5, "spec.ports[0].name is not a string"},
                      Bad{"selector_value", "/spec/selector/app", 1, "spec.selector[app] is not a string"},
                      Bad{"selector_array", "/spec/selector", json::array(), "spec.selector is not an object"},
                      Bad{"spec_string", "/spec", "x", "spec is not an object"},
                      Bad{"type_number", "/spec/type", 1, "spec.type is not a string"},
                      Bad{"cluster_ip_list", "/spec/clusterIP", json::array({"a"}), "spec.clusterIP is not a string"},
                      Bad{"name_missing", "/metadata/name", nullptr, "metadata.name is missing"},
                      Bad{"annotation_number", "/metadata/annotations/ingress", 1, "metadata.annotations"}),
    [](const ::testing::TestParamInfo<Bad>& info) { return std::string(info.param.name); });

TEST(ServiceTest, NotAnObject) {
  for (const json& doc : {json(), json::array(), json("svc"), json(5)}) {
    auto s = parse_service(doc);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, ErrorCode::kParse);
  }
}

}  // namespace
}  // namespace berth::kube
