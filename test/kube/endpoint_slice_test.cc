#include "kube/endpoint_slice.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace berth::kube {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json good_slice() {
  return json::parse(R"({
    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
    "metadata": {"name": "mysqlcluster-abc12", "namespace": "default",
                 "labels": {"kubernetes.io/service-name": "mysqlcluster"}},
    "addressType": "IPv4",
    "endpoints": [
      {"addresses": ["10.244.1.5"], "conditions": {"ready": true, "serving": true, "terminating": false},
       "nodeName": "node-1", "zone": "a", "targetRef": {"kind": "Pod", "name": "p"}},
      {"addresses": ["10.244.2.7"], "conditions": {"ready": false, "serving": true, "terminating": true}},
      {"addresses": ["10.244.3.9"], "hostname": "db-2"},
      {"addresses": ["10.244.4.1"], "conditions": {}}
    ],
    "ports": [{"name": "mysql", "port": 3306, "protocol": "TCP"}, {"name": "all"}]
  })");
}

TEST(EndpointSliceTest, ParsesEndpointsPortsAndService) {
  auto s = parse_endpoint_slice(good_slice());
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(s->service_name, "mysqlcluster");
  EXPECT_EQ(s->address_type, "IPv4");
  ASSERT_EQ(s->endpoints.size(), 4u);
  EXPECT_EQ(s->endpoints[0].addresses, std::vector<std::string>{"10.244.1.5"});
  EXPECT_TRUE(s->endpoints[0].conditions.is_ready());
  EXPECT_EQ(s->endpoints[0].node_name, "node-1");
  EXPECT_EQ(s->endpoints[0].zone, "a");
  EXPECT_FALSE(s->endpoints[1].conditions.is_ready());
  EXPECT_TRUE(s->endpoints[1].conditions.is_serving());
  EXPECT_TRUE(s->endpoints[1].conditions.is_terminating());
  EXPECT_EQ(s->endpoints[2].hostname, "db-2");
  ASSERT_EQ(s->ports.size(), 2u);
  EXPECT_EQ(s->ports[0], (EndpointPort{"mysql", 3306, "TCP"}));
  EXPECT_EQ(s->ports[1], (EndpointPort{"all", std::nullopt, "TCP"}));
}

TEST(EndpointSliceTest, AbsentConditionsAreUnknownAndReadAsReadyNotTerminating) {
  auto s = parse_endpoint_slice(good_slice());
  ASSERT_TRUE(s);
  for (int i : {2, 3}) {
    const EndpointConditions& c = s->endpoints[i].conditions;
    EXPECT_FALSE(c.ready.has_value()) << i;
    EXPECT_FALSE(c.terminating.has_value()) << i;
    EXPECT_TRUE(c.is_ready()) << i;
    EXPECT_TRUE(c.is_serving()) << i;
    EXPECT_FALSE(c.is_terminating()) << i;
  }
}

TEST(EndpointSliceTest, NoServiceLabelAndNoEndpoints) {
  auto s = parse_endpoint_slice(json::parse(R"({"metadata":{"name":"x","namespace":"y"},"addressType":"IPv6",
                                                "endpoints":null})"));
  ASSERT_TRUE(s) << s.error().describe();
  EXPECT_EQ(s->service_name, "");
  EXPECT_TRUE(s->endpoints.empty());
}

struct Bad {
  const char* name;
  const char* pointer;
  json value;
  const char* field;
};

class EndpointSliceMalformedTest : public ::testing::TestWithParam<Bad> {};

TEST_P(EndpointSliceMalformedTest, ErrorNamesTheField) {
  json doc = good_slice();
  doc[json::json_pointer(GetParam().pointer)] = GetParam().value;
  auto s = parse_endpoint_slice(doc);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kParse);
  EXPECT_THAT(s.error().message, HasSubstr(GetParam().field));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, EndpointSliceMalformedTest,
    ::testing::Values(
        Bad{"ready_string", "/endpoints/0/conditions/ready", "true", "endpoints[0].conditions.ready is not a boolean"},
        Bad{"terminating_number", "/endpoints/1/conditions/terminating", 1,
            "endpoints[1].conditions.terminating is not a boolean"},
        Bad{"conditions_array", "/endpoints/0/conditions", json::array(), "endpoints[0].conditions is not an object"},
        Bad{"addresses_missing", "/endpoints/2/addresses", nullptr, "endpoints[2].addresses is missing"},
        Bad{"address_number", "/endpoints/0/addresses/0", 10, "endpoints[0].addresses[0] is not a string"},
        Bad{"endpoints_object", "/endpoints", json::object(), "endpoints is not an array"},
        Bad{"endpoint_string", "/endpoints/0", "10.0.0.1", "endpoints[0] is not an object"},
        Bad{"port_string", "/ports/0/port", "3306", "ports[0].port is not an integer"},
        Bad{"port_huge", "/ports/0/port", 4294967296ll, "ports[0].port is out of range"},
        Bad{"protocol_number", "/ports/0/protocol", 6, "ports[0].protocol is not a string"},
        Bad{"address_type_bool", "/addressType", false, "addressType is not a string"},
        Bad{"node_name_number", "/endpoints/0/nodeName", 3, "endpoints[0].nodeName is not a string"}),
    [](const ::testing::TestParamInfo<Bad>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace berth::kube
