#include "kube-sim/object_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kube-sim/object_store.h"
#include "object_fixtures.h"

namespace berth::kubesim {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

struct ValidationCase {
  std::string name;
  const kube::ResourceType* type;
  json object;
  std::string message;  // the whole 422 message
};

void PrintTo(const ValidationCase& c, std::ostream* os) { *os << c.name; }

class ObjectValidationTest : public ::testing::TestWithParam<ValidationCase> {};

// Through the store, so defaults apply first as in kube-apiserver.
TEST_P(ObjectValidationTest, CreateIsRejected) {
  ObjectStore store;
  auto r = store.create(*GetParam().type, GetParam().type->namespaced ? "default" : "", GetParam().object);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalid);
  EXPECT_EQ(r.error().http_status, 422);
  EXPECT_EQ(r.error().message, GetParam().message);
}

const std::string kDns1035 =
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation "
    "is '[a-z]([-a-z0-9]*[a-z0-9])?')";

INSTANTIATE_TEST_SUITE_P(
    Rules, ObjectValidationTest,
    ::testing::Values(
        ValidationCase{"port_range", &kube::kServices, svc("x", {{"ports", {{{"port", 70000}, {"targetPort", 80}}}}}),
             "Service \"x\" is invalid: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"},
        ValidationCase{"port_missing", &kube::kServices, svc("x", {{"ports", {{{"name", "a"}}}}}),
             "Service \"x\" is invalid: spec.ports[0].port: Required value"},
        ValidationCase{"no_ports", &kube::kServices, svc("x", json::object()), "Service \"x\" is invalid: spec.ports: Required value"},
        ValidationCase{"protocol", &kube::kServices, svc("x", {{"ports", {{{"port", 80}, {"protocol", "HTTP"}}}}}),
             "Service \"x\" is invalid: spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: "
             "\"SCTP\", \"TCP\", \"UDP\""},
        ValidationCase{"names_required", &kube::kServices, svc("x", {{"ports", {{{"port", 80}}, {{"port", 81}}}}}),
             "Service \"x\" is invalid: [spec.ports[0].name: Required value, spec.ports[1].name: Required value]"},
        ValidationCase{"names_unique", &kube::kServices,
             svc("x", {{"ports", {{{"port", 80}, {"name", "a"}}, {{"port", 81}, {"name", "a"}}}}}),
             "Service \"x\" is invalid: spec.ports[1].name: Duplicate value: \"a\""},
        ValidationCase{"target_port", &kube::kServices, svc("x", {{"ports", {{{"port", 80}, {"targetPort", 0x10000}}}}}),
             "Service \"x\" is invalid: spec.ports[0].targetPort: Invalid value: 65536: must be between 1 and 65535, inclusive"},
        ValidationCase{"type", &kube::kServices, svc("x", {{"type", "Magic"}, {"ports", {{{"port", 80}}}}}),
             "Service \"x\" is invalid: spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", "
             "\"ExternalName\", \"LoadBalancer\", \"NodePort\""},
        ValidationCase{"service_name_dns1035", &kube::kServices, svc("1db", {{"ports", {{{"port", 80}}}}}),
             "Service \"1db\" is invalid: metadata.name: Invalid value: \"1db\": " + kDns1035},
        ValidationCase{"service_name_length", &kube::kServices, svc(std::string(64, 'a'), {{"ports", {{{"port", 80}}}}}),
             "Service \"" + std::string(64, 'a') + "\" is invalid: metadata.name: Invalid value: \"" +
                 std::string(64, 'a') + "\": must be no more than 63 characters"},
        ValidationCase{"name_required", &kube::kLeases, json{{"spec", json::object()}},
             "Lease \"\" is invalid: metadata.name: Required value: name or generateName is required"},
        ValidationCase{"annotation_key", &kube::kLeases, json{{"metadata", {{"name", "l"}, {"annotations", {{"bad key", "v"}}}}}},
             "Lease \"l\" is invalid: metadata.annotations: Invalid value: \"bad key\": name part must consist of "
             "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
             "'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"},
        ValidationCase{"annotations_too_big", &kube::kLeases,
             json{{"metadata", {{"name", "l"}, {"annotations", {{"a", std::string(256 * 1024, 'x')}}}}}},
             "Lease \"l\" is invalid: metadata.annotations: Too long: must have at most 262144 bytes"},
        ValidationCase{"label_value", &kube::kLeases, json{{"metadata", {{"name", "l"}, {"labels", {{"app", "-x"}}}}}},
             "Lease \"l\" is invalid: metadata.labels: Invalid value: \"-x\": a valid label must be an empty string or "
             "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character "
             "(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"},
        ValidationCase{"address_type", &kube::kEndpointSlices, json{{"metadata", {{"name", "s"}}}},
             "EndpointSlice \"s\" is invalid: addressType: Required value"},
        ValidationCase{"address_type_value", &kube::kEndpointSlices,
             json{{"metadata", {{"name", "s"}}}, {"addressType", "IPv5"}},
             "EndpointSlice \"s\" is invalid: addressType: Unsupported value: \"IPv5\": supported values: \"FQDN\", "
             "\"IPv4\", \"IPv6\""},
        ValidationCase{"namespace_name", &kube::kNamespaces, json{{"metadata", {{"name", "Team"}}}},
             "Namespace \"Team\" is invalid: metadata.name: Invalid value: \"Team\": a lowercase RFC 1123 label must "
             "consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
             "character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"}),
    [](const ::testing::TestParamInfo<ValidationCase>& info) { return info.param.name; });

TEST(ObjectValidationAcceptTest, ValidObjectsPass) {
  ObjectStore store;
  EXPECT_TRUE(store.create(kube::kServices, "default", svc("headless", {{"clusterIP", "None"}})).has_value());
  EXPECT_TRUE(store.create(kube::kServices, "default",
                           svc("multi", {{"ports", {{{"port", 80}, {"name", "http"}, {"targetPort", "web"}},
                                                    {{"port", 80}, {"name", "dns"}, {"protocol", "UDP"}}}}}))
                  .has_value());
  EXPECT_TRUE(store.create(kube::kServices, "default", svc("ext", {{"type", "ExternalName"}, {"externalName", "db.example.com"}}))
                  .has_value());
  auto slice = store.create(kube::kEndpointSlices, "default",
                            json::parse(R"({"metadata":{"name":"db-abc","labels":{"kubernetes.io/service-name":"db"}},
                              "addressType":"IPv4","endpoints":[{"addresses":["10.0.0.1"]}],"ports":[{"port":3306}]})"));
  ASSERT_TRUE(slice.has_value()) << slice.error().message;
  EXPECT_EQ((*slice)["ports"][0]["protocol"], "TCP");
  EXPECT_FALSE((*slice)["endpoints"][0].contains("conditions"));
  auto event = store.create(kube::kEvents, "default",
                            json::parse(R"({"metadata":{"name":"db.17a"},"reason":"Allocated","anything":{"goes":[1]}})"));
  ASSERT_TRUE(event.has_value()) << event.error().message;
  EXPECT_EQ((*event)["anything"]["goes"][0], 1);
  EXPECT_TRUE(store.create(kube::kLeases, "default",
                           json::parse(R"({"metadata":{"name":"l","annotations":{"example.com/x_y.Z":"v"}}})"))
                  .has_value());
}

}  // namespace
}  // namespace berth::kubesim
