// The chaos run's oracle: what HAProxy must run, derived from API objects alone, and the
// comparison with what the workers report. Also that the churn's "valid" and "invalid" option
// values are what berth's own grammar says they are, since the oracle relies on it.
#include <gtest/gtest.h>

#include "chaos/expected_dataplane.h"
#include "chaos/service_churn.h"
#include "chaos/user_writes.h"
#include "dataplane/service_options.h"

namespace berth::chaos {
namespace {

nlohmann::json service(const std::string& name, nlohmann::json annotations, nlohmann::json ports) {
  return {{"metadata", {{"namespace", "default"}, {"name", name}, {"annotations", annotations}}},
          {"spec", {{"ports", ports}}}};
}

nlohmann::json slice(const std::string& service, const std::vector<std::pair<std::string, bool>>& endpoints) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [address, ready] : endpoints) list.push_back({{"addresses", {address}}, {"conditions", {{"ready", ready}}}});
  return {{"metadata", {{"namespace", "default"}, {"name", service + "-1"}, {"labels", {{"kubernetes.io/service-name", service}}}}},
          {"addressType", "IPv4"},
          {"ports", {{{"name", "p3306"}, {"port", 13306}}, {{"name", "p5432"}, {"port", 15432}}}},
          {"endpoints", list}};
}

const nlohmann::json kTwoPorts = {{{"name", "p3306"}, {"port", 3306}, {"protocol", "TCP"}},
                                  {{"name", "p5432"}, {"port", 5432}, {"protocol", "TCP"}},
                                  {{"name", "dns"}, {"port", 53}, {"protocol", "UDP"}}};

TEST(ChaosExpectedDataplane, MarkedAllocatedPortsWithTheirReadyEndpoints) {
  ClusterObjects cluster;
  cluster.services = {
      service("a", {{"ingress", "haproxy-ingress"}, {"haproxy-ingress/3306", "22001"}, {"haproxy-ingress/5432", "22002"}},
              kTwoPorts),
      // Unmarked: its leftover allocation is no listener.
      service("b", {{"ingress", "none"}, {"haproxy-ingress/3306", "22003"}}, kTwoPorts),
      // Not canonical, outside the pool, a UDP port: none of them is a listener.
      service("c", {{"ingress", "haproxy-ingress"}, {"haproxy-ingress/3306", "022004"}, {"haproxy-ingress/5432", "30000"},
                    {"haproxy-ingress/53", "22005"}},
              kTwoPorts),
      // An invalid allow-sources: not served at all.
      service("d", {{"ingress", "haproxy-ingress"}, {"haproxy-ingress/3306", "22006"}, {"haproxy-ingress/allow-sources", "not-a-cidr"}},
              kTwoPorts),
  };
  cluster.slices = {slice("a", {{"127.0.2.1", true}, {"127.0.2.2", false}})};
  const auto expected = expected_listeners(cluster, 22000, 22999);
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(expected.at(22001), (ExpectedListener{.service = "default/a", .service_port = 3306, .servers = {"127.0.2.1:13306"}}));
  EXPECT_EQ(expected.at(22002), (ExpectedListener{.service = "default/a", .service_port = 5432, .servers = {"127.0.2.1:15432"}}));
}

TEST(ChaosExpectedDataplane, EveryDifferenceIsNamed) {
  const std::map<int, ExpectedListener> expected = {
      {22001, {.service = "default/a", .service_port = 3306, .servers = {"127.0.2.1:13306"}}},
      {22002, {.service = "default/a", .service_port = 5432, .servers = {}}},
      {22003, {.service = "default/b", .service_port = 3306, .servers = {"127.0.2.9:13306"}}},
  };
  std::map<int, haproxy::ListenerRuntime> running;
  running[22001].servers = {haproxy::ServerRuntime{.address = "127.0.2.1:13306"}};
  running[22002];  // no servers, as expected
  running[22003].servers = {haproxy::ServerRuntime{.address = "127.0.2.8:13306"}};
  running[22009];
  EXPECT_EQ(dataplane_differences(expected, running),
            (std::vector<std::string>{
                "default/b port 3306 (host port 22003): servers [127.0.2.8:13306], expected [127.0.2.9:13306]",
                "host port 22009: a listener no Service asks for"}));
  running.erase(22001);
  running.erase(22009);
  running[22003].servers = {haproxy::ServerRuntime{.address = "127.0.2.9:13306"}};
  EXPECT_EQ(dataplane_differences(expected, running),
            (std::vector<std::string>{"default/a port 3306: no listener on host port 22001"}));
}

TEST(ChaosChurnOptionValues, AgreeWithBerthsGrammar) {
  const controller::AnnotationConfig config;
  for (const auto& [option, values] : ChurnOptionValues::valid()) {
    for (const auto& value : values) {
      auto parsed = dataplane::parse_service_options({{"haproxy-ingress/" + option, value}}, config);
      EXPECT_TRUE(parsed.problems.empty()) << option << "=" << value << ": " << parsed.problems.front().message();
      EXPECT_TRUE(parsed.servable) << option << "=" << value;
      if (option == "allow-sources") {
        EXPECT_TRUE(ChurnOptionValues::servable_allow_sources(value)) << value;
      }
    }
  }
  for (const auto& [option, values] : ChurnOptionValues::invalid()) {
    for (const auto& value : values) {
      auto parsed = dataplane::parse_service_options({{"haproxy-ingress/" + option, value}}, config);
      EXPECT_FALSE(parsed.problems.empty()) << option << "=" << value;
      EXPECT_EQ(parsed.servable, option != "allow-sources") << option << "=" << value;
      if (option == "allow-sources") {
        EXPECT_FALSE(ChurnOptionValues::servable_allow_sources(value)) << value;
      }
    }
  }
}

constexpr const char* kMysql = "haproxy-ingress/3306";

TEST(ChaosUserWrites, AValueIsTheUsersUntilAWriteOfTheirsWasAnsweredBeforeTheList) {
  UserWrites writes;
  EXPECT_FALSE(writes.wrote("default/a", kMysql, "22001", writes.mark()));
  writes.end(writes.begin("default/a", {{kMysql, "22001"}}), true);
  EXPECT_TRUE(writes.wrote("default/a", kMysql, "22001", writes.mark()));
  EXPECT_FALSE(writes.wrote("default/a", "haproxy-ingress/5432", "22001", writes.mark()));
  EXPECT_FALSE(writes.wrote("default/b", kMysql, "22001", writes.mark()));

  // A LIST begun while the next write is in flight may show either value, and so may one begun
  // before that write was answered, whenever it is asked about.
  const auto listed_before_answer = writes.mark();
  const auto removal = writes.begin("default/a", {{kMysql, std::nullopt}});
  EXPECT_TRUE(writes.wrote("default/a", kMysql, "22001", writes.mark()));
  writes.end(removal, true);
  EXPECT_TRUE(writes.wrote("default/a", kMysql, "22001", listed_before_answer));
  // Once the removal was answered before a LIST began, what that LIST shows there is berth's.
  EXPECT_FALSE(writes.wrote("default/a", kMysql, "22001", writes.mark()));
}

TEST(ChaosUserWrites, AWriteAnsweredWithAnErrorMayHaveBeenMadeOrNot) {
  UserWrites writes;
  writes.end(writes.begin("default/a", {{kMysql, "22001"}, {"haproxy-ingress/5432", "22002"}}), true);
  writes.end(writes.begin("default/a", {{kMysql, "22003"}}), false);
  EXPECT_TRUE(writes.wrote("default/a", kMysql, "22001", writes.mark()));
  EXPECT_TRUE(writes.wrote("default/a", kMysql, "22003", writes.mark()));
  EXPECT_TRUE(writes.wrote("default/a", "haproxy-ingress/5432", "22002", writes.mark()));
  writes.end(writes.begin("default/a", {{kMysql, "22004"}}), true);
  EXPECT_FALSE(writes.wrote("default/a", kMysql, "22001", writes.mark()));
  EXPECT_FALSE(writes.wrote("default/a", kMysql, "22003", writes.mark()));
  EXPECT_TRUE(writes.wrote("default/a", kMysql, "22004", writes.mark()));
}

}  // namespace
}  // namespace berth::chaos
