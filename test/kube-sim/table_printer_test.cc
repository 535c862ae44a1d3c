#include "kube-sim/table_printer.h"

#include <gtest/gtest.h>

#include "kube/micro_time.h"
#include "kube/resource.h"

namespace berth::kubesim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(TablePrinter, HumanDurationsMatchKubectl) {
  EXPECT_EQ(human_duration(0s), "0s");
  EXPECT_EQ(human_duration(119s), "119s");
  EXPECT_EQ(human_duration(5min + 12s), "5m12s");
  EXPECT_EQ(human_duration(5min), "5m");
  EXPECT_EQ(human_duration(2h + 30min), "150m");
  EXPECT_EQ(human_duration(5h + 7min), "5h7m");
  EXPECT_EQ(human_duration(30h), "30h");
  EXPECT_EQ(human_duration(24h * 3 + 4h), "3d4h");
  EXPECT_EQ(human_duration(24h * 400), "400d");
  EXPECT_EQ(human_duration(24h * (365 * 3 + 20)), "3y20d");
}

TEST(TablePrinter, AcceptsOnlyMetaTables) {
  EXPECT_TRUE(accepts_table("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"));
  EXPECT_FALSE(accepts_table("application/json"));
  EXPECT_FALSE(accepts_table(""));
}

TEST(TablePrinter, ServiceRowsHaveKubectlColumns) {
  auto created = kube::parse_time("2026-01-01T00:00:00Z");
  ASSERT_TRUE(created);
  json service = {{"apiVersion", "v1"},
                  {"kind", "Service"},
                  {"metadata", {{"name", "web"}, {"namespace", "default"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
                  {"spec",
                   {{"type", "ClusterIP"},
                    {"clusterIP", "10.96.0.7"},
                    {"selector", {{"app", "web"}}},
                    {"ports", {{{"port", 80}, {"protocol", "TCP"}}, {{"port", 53}, {"protocol", "UDP"}}}}}}};
  auto table = make_table(kube::kServices, {service}, *created + 90s, "42");
  EXPECT_EQ(table["kind"], "Table");
  EXPECT_EQ(table["apiVersion"], "meta.k8s.io/v1");
  EXPECT_EQ(table["metadata"]["resourceVersion"], "42");
  std::vector<std::string> names;
  for (const auto& c : table["columnDefinitions"]) names.push_back(c["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"}));
  EXPECT_EQ(table["columnDefinitions"][6]["priority"], 1);
  ASSERT_EQ(table["rows"].size(), 1u);
  EXPECT_EQ(table["rows"][0]["cells"],
            json({"web", "ClusterIP", "10.96.0.7", "<none>", "80/TCP,53/UDP", "90s", "app=web"}));
  EXPECT_EQ(table["rows"][0]["object"]["metadata"]["namespace"], "default");
}

TEST(TablePrinter, LeaseAndEndpointSliceRows) {
  json lease = {{"metadata", {{"name", "berth"}}}, {"spec", {{"holderIdentity", "replica-a"}}}};
  auto t = make_table(kube::kLeases, {lease}, std::chrono::system_clock::now());
  EXPECT_EQ(t["rows"][0]["cells"][1], "replica-a");

  json slice = {{"metadata", {{"name", "web-1"}}},
                {"addressType", "IPv4"},
                {"ports", {{{"port", 8080}}}},
                {"endpoints",
                 {{{"addresses", {"10.0.0.1"}}}, {{"addresses", {"10.0.0.2"}}}, {{"addresses", {"10.0.0.3"}}},
                  {{"addresses", {"10.0.0.4"}}}}}};
  t = make_table(kube::kEndpointSlices, {slice}, std::chrono::system_clock::now());
  EXPECT_EQ(t["rows"][0]["cells"][2], "8080");
  EXPECT_EQ(t["rows"][0]["cells"][3], "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...");
}

}  // namespace
}  // namespace berth::kubesim
