#include "dataplane/model_builder.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>

namespace berth::dataplane {
namespace {

using controller::Warning;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ServicePtr = kube::Store<kube::Service>::Ptr;
using SlicePtr = kube::Store<kube::EndpointSlice>::Ptr;

constexpr const char* kMarker = "ingress";
constexpr const char* kClass = "haproxy-ingress";

ports::PortRangeSet pool(std::string_view spec = "20000-29999") {
  auto parsed = ports::PortRangeSet::parse(spec);
  EXPECT_TRUE(parsed) << spec;
  return *parsed;
}

kube::ServicePort service_port(std::int32_t number, std::string name = "", kube::IntOrString target = {}) {
  kube::ServicePort p;
  p.name = std::move(name);
  p.port = number;
  p.target_port = target == kube::IntOrString{} ? kube::IntOrString{number} : std::move(target);
  return p;
}

kube::IntOrString named(std::string name) { return kube::IntOrString{std::move(name)}; }

struct ServiceSpec {
  std::string ns = "team";
  std::string name = "db";
  std::vector<kube::ServicePort> ports = {service_port(3306, "mysql")};
  std::map<std::string, std::string> annotations = {{"haproxy-ingress/3306", "20001"}};
  bool marked = true;
  std::string created = "2026-01-01T00:00:00Z";
  std::string uid = "";
  std::string cluster_ip = "10.96.0.10";
};

ServicePtr service(ServiceSpec spec) {
  auto s = std::make_shared<kube::Service>();
  s->meta.namespace_ = spec.ns;
  s->meta.name = spec.name;
  s->meta.uid = spec.uid.empty() ? "uid-" + spec.ns + "-" + spec.name : spec.uid;
  s->meta.resource_version = "1";
  s->meta.creation_timestamp = spec.created;
  s->meta.annotations = std::move(spec.annotations);
  if (spec.marked) s->meta.annotations[kMarker] = kClass;
  s->ports = std::move(spec.ports);
  s->cluster_ip = spec.cluster_ip;
  return s;
}

kube::Endpoint endpoint(std::string address, std::optional<bool> ready = std::nullopt,
                        std::optional<bool> terminating = std::nullopt) {
  kube::Endpoint e;
  e.addresses = {std::move(address)};
  e.conditions.ready = ready;
  e.conditions.terminating = terminating;
  return e;
}

kube::EndpointPort slice_port(std::string name, std::optional<std::int32_t> number, std::string protocol = "TCP") {
  return kube::EndpointPort{std::move(name), number, std::move(protocol)};
}

struct SliceSpec {
  std::string ns = "team";
  std::string name = "db-abc12";
  std::string service = "db";
  std::string type = "IPv4";
  std::vector<kube::EndpointPort> ports = {slice_port("mysql", 3306)};
  std::vector<kube::Endpoint> endpoints;
};

SlicePtr slice(SliceSpec spec) {
  auto s = std::make_shared<kube::EndpointSlice>();
  s->meta.namespace_ = spec.ns;
  s->meta.name = spec.name;
  s->meta.uid = "uid-" + spec.name;
  s->meta.resource_version = "1";
  if (!spec.service.empty()) s->meta.labels[std::string(kube::kServiceNameLabel)] = spec.service;
  s->service_name = spec.service;
  s->address_type = spec.type;
  s->ports = std::move(spec.ports);
  s->endpoints = std::move(spec.endpoints);
  return s;
}

haproxy::Server server(std::string_view address, int port) {
  auto ip = haproxy::IpAddress::parse(address);
  EXPECT_TRUE(ip) << address;
  return {*ip, port};
}

std::vector<std::string> texts(const std::vector<haproxy::Server>& servers) {
  std::vector<std::string> out;
  for (const haproxy::Server& s : servers) out.push_back(s.address.with_port(s.port));
  return out;
}

BuiltModel build(const std::vector<ServicePtr>& services, const std::vector<SlicePtr>& slices = {},
                 const std::set<int>& unusable = {}, const ports::PortRangeSet& range = pool()) {
  return *ModelBuilder(controller::AnnotationConfig{}, range).build(services, slices, unusable);
}

std::string warnings_text(const BuiltModel& built) {
  std::string text;
  for (const auto& [key, list] : built.warnings) {
    for (const Warning& w : list) text += key + " " + w.reason + ": " + w.message + "\n";
  }
  return text;
}

TEST(ModelBuilderTest, OneServiceBecomesOneListener) {
  BuiltModel built =
      build({service({})}, {slice({.endpoints = {endpoint("10.244.1.5", true), endpoint("10.244.2.7")}})});
  haproxy::Listener expected;
  expected.host_port = 20001;
  expected.service = {"team", "db", 3306};
  expected.servers = {server("10.244.1.5", 3306), server("10.244.2.7", 3306)};
  haproxy::Model model;
  model.listeners.emplace(20001, expected);
  EXPECT_EQ(built.model, model);
  EXPECT_EQ(built.owner, (std::map<int, std::string>{{20001, "team/db"}}));
  EXPECT_TRUE(built.warnings.empty()) << warnings_text(built);
}

TEST(ModelBuilderTest, Endpoints) {
  struct Case {
    const char* label;
    std::vector<kube::ServicePort> ports;
    std::vector<SlicePtr> slices;
    std::vector<std::string> servers;  // of the listener of service port 3306
  };
  const std::vector<Case> cases = {
      {"no slices: a listener with no server", {service_port(3306, "mysql")}, {}, {}},
      {"conditions: ready or unknown, and not terminating",
       {service_port(3306, "mysql")},
       {slice({.endpoints = {endpoint("10.0.0.1", true, false), endpoint("10.0.0.2", false),
                             endpoint("10.0.0.3", true, true), endpoint("10.0.0.4", std::nullopt, true),
                             endpoint("10.0.0.5"), endpoint("10.0.0.6", std::nullopt, false)}})},
       {"10.0.0.1:3306", "10.0.0.5:3306", "10.0.0.6:3306"}},
      {"the slice port named like the service port, with its number",
       {service_port(3306, "mysql", named("db"))},
       {slice({.ports = {slice_port("other", 3306), slice_port("mysql", 13306)}, .endpoints = {endpoint("10.0.0.1")}})},
       {"10.0.0.1:13306"}},
      {"a name match wins over a number match",
       {service_port(3306, "mysql")},
       {slice({.ports = {slice_port("", 3306), slice_port("mysql", 3307)}, .endpoints = {endpoint("10.0.0.1")}})},
       {"10.0.0.1:3307"}},
      {"no name match: the numeric targetPort",
       {service_port(3306, "mysql", kube::IntOrString{3316})},
       {slice({.ports = {slice_port("", 3316)}, .endpoints = {endpoint("10.0.0.1")}})},
       {"10.0.0.1:3316"}},
      {"no name match and a named targetPort: nothing",
       {service_port(3306, "mysql", named("mysql-port"))},
       {slice({.ports = {slice_port("", 3306)}, .endpoints = {endpoint("10.0.0.1")}})},
       {}},
      {"a name match without a number is no match",
       {service_port(3306, "mysql")},
       {slice(
           {.ports = {slice_port("mysql", std::nullopt), slice_port("x", 3306)}, .endpoints = {endpoint("10.0.0.1")}})},
       {"10.0.0.1:3306"}},
      {"UDP slice ports never match",
       {service_port(3306, "mysql")},
       {slice({.ports = {slice_port("mysql", 3306, "UDP")}, .endpoints = {endpoint("10.0.0.1")}})},
       {}},
      {"unnamed single port",
       {service_port(6379)},
       {slice({.ports = {slice_port("", 6379)}, .endpoints = {endpoint("10.0.0.9")}})},
       {}},  // (its listener is on service port 6379, checked below; 3306 has none)
      {"IPv4 and IPv6 slices together, sorted",
       {service_port(3306, "mysql")},
       {slice({.name = "db-v6", .type = "IPv6", .endpoints = {endpoint("fd00::2"), endpoint("FD00:0::1")}}),
        slice({.name = "db-v4", .endpoints = {endpoint("10.0.0.2"), endpoint("10.0.0.1")}})},
       {"10.0.0.1:3306", "10.0.0.2:3306", "[fd00::1]:3306", "[fd00::2]:3306"}},
      {"FQDN slices are skipped",
       {service_port(3306, "mysql")},
       {slice({.name = "db-fqdn", .type = "FQDN", .endpoints = {endpoint("db.example.com")}}),
        slice({.endpoints = {endpoint("10.0.0.1")}})},
       {"10.0.0.1:3306"}},
      {"two slices merged, duplicates once",
       {service_port(3306, "mysql")},
       {slice({.name = "db-a", .endpoints = {endpoint("10.0.0.1"), endpoint("10.0.0.2")}}),
        slice({.name = "db-b", .endpoints = {endpoint("10.0.0.2"), endpoint("10.0.0.3")}})},
       {"10.0.0.1:3306", "10.0.0.2:3306", "10.0.0.3:3306"}},
      {"slices of another Service or namespace, or of no Service, are ignored",
       {service_port(3306, "mysql")},
       {slice({.name = "other-1", .service = "other", .endpoints = {endpoint("10.0.0.7")}}),
        slice({.ns = "elsewhere", .name = "db-1", .endpoints = {endpoint("10.0.0.8")}}),
        slice({.name = "orphan", .service = "", .endpoints = {endpoint("10.0.0.9")}}),
        slice({.endpoints = {endpoint("10.0.0.1")}})},
       {"10.0.0.1:3306"}},
      {"only the first address of an endpoint",
       {service_port(3306, "mysql")},
       {slice({.endpoints = {kube::Endpoint{.addresses = {"10.0.0.1", "10.0.0.2"}}}})},
       {"10.0.0.1:3306"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    std::map<std::string, std::string> annotations = {{"haproxy-ingress/3306", "20001"},
                                                      {"haproxy-ingress/6379", "20002"}};
    BuiltModel built = build({service({.ports = c.ports, .annotations = annotations})}, c.slices);
    EXPECT_TRUE(built.warnings.empty()) << warnings_text(built);
    auto listener = built.model.listeners.find(20001);
    if (c.ports[0].port != 3306) {
      EXPECT_EQ(listener, built.model.listeners.end());
      ASSERT_TRUE(built.model.listeners.contains(20002));
      EXPECT_THAT(texts(built.model.listeners.at(20002).servers), ElementsAre("10.0.0.9:6379"));
      continue;
    }
    ASSERT_NE(listener, built.model.listeners.end());
    EXPECT_EQ(texts(listener->second.servers), c.servers);
  }
}

TEST(ModelBuilderTest, EachServicePortGetsItsOwnSlicePort) {
  BuiltModel built =
      build({service({.ports = {service_port(3306, "mysql"), service_port(33060, "mysqlx")},
                      .annotations = {{"haproxy-ingress/3306", "20001"}, {"haproxy-ingress/33060", "20002"}}})},
            {slice({.ports = {slice_port("mysqlx", 33060), slice_port("mysql", 3306)},
                    .endpoints = {endpoint("10.0.0.1"), endpoint("10.0.0.2")}})});
  ASSERT_EQ(built.model.listeners.size(), 2u);
  EXPECT_THAT(texts(built.model.listeners.at(20001).servers), ElementsAre("10.0.0.1:3306", "10.0.0.2:3306"));
  EXPECT_THAT(texts(built.model.listeners.at(20002).servers), ElementsAre("10.0.0.1:33060", "10.0.0.2:33060"));
  EXPECT_EQ(built.model.listeners.at(20002).service, (haproxy::ServiceRef{"team", "db", 33060}));
}

TEST(ModelBuilderTest, InvalidEndpointsAreSkippedWithAWarningNamingTheSlice) {
  struct Case {
    const char* label;
    std::string type;
    std::string address;
    std::string message_part;
  };
  const Case cases[] = {
      {"not an address", "IPv4", "10.0.0.300", R"(endpoint address "10.0.0.300" is not an IPv4 address)"},
      {"IPv6 in an IPv4 slice", "IPv4", "fd00::1", "is not an IPv4 address"},
      {"IPv4 in an IPv6 slice", "IPv6", "10.0.0.1", "is not an IPv6 address"},
      {"IPv4-mapped in an IPv4 slice", "IPv4", "::ffff:10.0.0.1", "is not an IPv4 address"},
      {"a port in it", "IPv4", "10.0.0.1:3306", "is not an IPv4 address"},
      {"a newline", "IPv4", "10.0.0.1\nserver x 1.2.3.4:5", R"("10.0.0.1\nserver x 1.2.3.4:5")"},
      {"NUL", "IPv4", std::string("10.0.0.1\0", 9), R"("10.0.0.1\x00")"},
      {"empty", "IPv4", "", R"(address "" is not)"},
      {"loopback", "IPv4", "127.0.0.1", "127.0.0.1 is a loopback address"},
      {"link-local metadata server", "IPv4", "169.254.169.254", "is a link-local address"},
      {"unspecified", "IPv4", "0.0.0.0", "this host"},
      {"multicast", "IPv4", "224.0.0.1", "multicast"},
      {"broadcast", "IPv4", "255.255.255.255", "reserved"},
      {"IPv6 loopback", "IPv6", "::1", "loopback"},
      {"IPv6 unspecified", "IPv6", "::", "unspecified"},
      {"IPv6 link-local", "IPv6", "fe80::1", "link-local"},
      {"IPv6 multicast", "IPv6", "ff02::1", "multicast"},
      {"IPv4-mapped loopback in an IPv6 slice", "IPv6", "::ffff:127.0.0.1", "loopback"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    BuiltModel built =
        build({service({})},
              {slice({.name = "db-xyz",
                      .type = c.type,
                      .endpoints = {endpoint(c.address), endpoint(c.type == "IPv4" ? "10.0.0.2" : "fd00::2")}})});
    ASSERT_TRUE(built.model.listeners.contains(20001));
    EXPECT_EQ(built.model.listeners.at(20001).servers.size(), 1u);
    ASSERT_EQ(built.warnings.size(), 1u);
    const std::vector<Warning>& warnings = built.warnings.at("team/db");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].reason, "InvalidEndpoint");
    EXPECT_THAT(warnings[0].message, HasSubstr("EndpointSlice \"db-xyz\": "));
    EXPECT_THAT(warnings[0].message, HasSubstr(c.message_part));
    EXPECT_EQ(warnings[0].message.find('\n'), std::string::npos);
  }
  // Not-ready endpoints are not judged: they are not used anyway.
  BuiltModel quiet = build({service({})}, {slice({.endpoints = {endpoint("bogus", false), endpoint("10.0.0.1")}})});
  EXPECT_TRUE(quiet.warnings.empty()) << warnings_text(quiet);
}

TEST(ModelBuilderTest, LoopbackEndpointsServeOnlyWhenAllowedAndLinkLocalNever) {
  std::vector<SlicePtr> slices = {
      slice({.endpoints = {endpoint("127.0.0.2"), endpoint("169.254.169.254"), endpoint("10.0.0.1")}})};
  auto allowed = *ModelBuilder(controller::AnnotationConfig{}, pool(), /*allow_loopback_endpoints=*/true)
                      .build({service({})}, slices, {});
  ASSERT_TRUE(allowed.model.listeners.contains(20001));
  EXPECT_THAT(texts(allowed.model.listeners.at(20001).servers), ElementsAre("10.0.0.1:3306", "127.0.0.2:3306"));
  EXPECT_THAT(warnings_text(allowed), HasSubstr("link-local"));
  auto refused = build({service({})}, slices);
  EXPECT_THAT(texts(refused.model.listeners.at(20001).servers), ElementsAre("10.0.0.1:3306"));
}

TEST(ModelBuilderTest, ClusterIpMode) {
  std::map<std::string, std::string> clusterip = {{"haproxy-ingress/3306", "20001"},
                                                  {"haproxy-ingress/backend", "clusterip"}};
  std::vector<SlicePtr> slices = {slice({.endpoints = {endpoint("10.0.0.1")}})};
  BuiltModel built = build({service({.annotations = clusterip, .cluster_ip = "10.96.0.10"})}, slices);
  ASSERT_TRUE(built.model.listeners.contains(20001));
  EXPECT_THAT(texts(built.model.listeners.at(20001).servers), ElementsAre("10.96.0.10:3306"));
  EXPECT_TRUE(built.warnings.empty()) << warnings_text(built);

  BuiltModel v6 = build({service({.ports = {service_port(3306, "mysql", kube::IntOrString{13306})},
                                  .annotations = clusterip,
                                  .cluster_ip = "fd00:10:96::a"})},
                        slices);
  EXPECT_THAT(texts(v6.model.listeners.at(20001).servers), ElementsAre("[fd00:10:96::a]:3306"));

  for (const char* headless : {"None", "", "bogus", "127.0.0.1"}) {
    SCOPED_TRACE(headless);
    BuiltModel fallback = build({service({.annotations = clusterip, .cluster_ip = headless})}, slices);
    ASSERT_TRUE(fallback.model.listeners.contains(20001));
    EXPECT_THAT(texts(fallback.model.listeners.at(20001).servers), ElementsAre("10.0.0.1:3306"));
    ASSERT_EQ(fallback.warnings.count("team/db"), 1u);
    const auto& warnings = fallback.warnings.at("team/db");
    ASSERT_EQ(warnings.size(), 1u);
    EXPECT_EQ(warnings[0].reason, "NoClusterIP");
    EXPECT_THAT(warnings[0].message, HasSubstr("its endpoints are used instead"));
  }
}

TEST(ModelBuilderTest, PoolBoundsUnusablePortsAndAnnotations) {
  const ports::PortRangeSet range = pool("20000-20009").minus(pool("20005"));
  struct Case {
    const char* label;
    std::vector<kube::ServicePort> ports;
    std::map<std::string, std::string> annotations;
    std::set<int> unusable;
    std::set<int> listeners;
  };
  const Case cases[] = {
      {"first and last port of the pool",
       {service_port(1), service_port(2)},
       {{"haproxy-ingress/1", "20000"}, {"haproxy-ingress/2", "20009"}},
       {},
       {20000, 20009}},
      {"below and above the pool",
       {service_port(1), service_port(2)},
       {{"haproxy-ingress/1", "19999"}, {"haproxy-ingress/2", "20010"}},
       {},
       {}},
      {"excluded port", {service_port(1)}, {{"haproxy-ingress/1", "20005"}}, {}, {}},
      {"unusable port",
       {service_port(1), service_port(2)},
       {{"haproxy-ingress/1", "20001"}, {"haproxy-ingress/2", "20002"}},
       {20001},
       {20002}},
      {"no annotation", {service_port(1)}, {}, {}, {}},
      {"invalid annotations",
       {service_port(1), service_port(2), service_port(3)},
       {{"haproxy-ingress/1", "020001"}, {"haproxy-ingress/2", "abc"}, {"haproxy-ingress/3", " 20003"}},
       {},
       {}},
      {"an annotation for a port not in the spec", {service_port(1)}, {{"haproxy-ingress/2", "20002"}}, {}, {}},
      {"UDP ports are never served",
       {[] {
         auto p = service_port(53);
         p.protocol = "UDP";
         return p;
       }()},
       {{"haproxy-ingress/53", "20003"}},
       {},
       {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    BuiltModel built = build({service({.ports = c.ports, .annotations = c.annotations})}, {}, c.unusable, range);
    std::set<int> listeners;
    for (const auto& [port, listener] : built.model.listeners) listeners.insert(port);
    EXPECT_EQ(listeners, c.listeners);
    EXPECT_TRUE(built.warnings.empty()) << warnings_text(built);
  }
}

TEST(ModelBuilderTest, DuplicateHostPortsGoToTheOlderClaim) {
  auto claimant = [](std::string name, std::string created, std::string uid) {
    return service({.name = std::move(name), .created = std::move(created), .uid = std::move(uid)});
  };
  struct Case {
    const char* label;
    std::vector<ServicePtr> services;
    std::string winner;
  };
  const Case cases[] = {
      {"older creationTimestamp",
       {claimant("young", "2026-02-01T00:00:00Z", "a"), claimant("old", "2026-01-01T00:00:00Z", "z")},
       "team/old"},
      {"same time: the smaller uid",
       {claimant("a", "2026-01-01T00:00:00Z", "uid-2"), claimant("b", "2026-01-01T00:00:00Z", "uid-1")},
       "team/b"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label);
    for (bool reversed : {false, true}) {
      std::vector<ServicePtr> services = c.services;
      if (reversed) std::ranges::reverse(services);
      BuiltModel built = build(services, {slice({.service = "young", .endpoints = {endpoint("10.0.0.1")}})});
      EXPECT_EQ(built.owner, (std::map<int, std::string>{{20001, c.winner}}));
      ASSERT_EQ(built.model.listeners.size(), 1u);
      EXPECT_EQ(built.model.listeners.at(20001).service.ns + "/" + built.model.listeners.at(20001).service.name,
                c.winner);
      EXPECT_TRUE(built.warnings.empty()) << warnings_text(built);
    }
  }
  // Two ports of one Service naming one host port: the allocator's owner order ("team/db/3306"
  // < "team/db/33060") decides.
  BuiltModel same =
      build({service({.ports = {service_port(33060, "x"), service_port(3306, "mysql")},
                      .annotations = {{"haproxy-ingress/3306", "20001"}, {"haproxy-ingress/33060", "20001"}}})});
  ASSERT_EQ(same.model.listeners.size(), 1u);
  EXPECT_EQ(same.model.listeners.at(20001).service.port, 3306);
}

TEST(ModelBuilderTest, AServiceThatIsNotServedStillHoldsItsPort) {
  // The older Service may not be served (an invalid allow-sources, an invalid name); its port
  // must still never go to the younger claimant, whose clients are someone else's.
  const std::vector<std::pair<const char*, ServicePtr>> older = {
      {"invalid allow-sources",
       service({.name = "old",
                .annotations = {{"haproxy-ingress/3306", "20001"}, {"haproxy-ingress/allow-sources", "10.0.0.0/33"}},
                .created = "2026-01-01T00:00:00Z"})},
      {"invalid name", service({.name = "Old_DB", .created = "2026-01-01T00:00:00Z"})},
  };
  for (const auto& [label, old] : older) {
    SCOPED_TRACE(label);
    BuiltModel built = build({service({.name = "young", .created = "2026-03-01T00:00:00Z"}), old});
    EXPECT_TRUE(built.model.listeners.empty());
    EXPECT_TRUE(built.owner.empty());
    ASSERT_EQ(built.warnings.size(), 1u) << warnings_text(built);
    EXPECT_EQ(built.warnings.begin()->first, old->meta.key());
  }
  BuiltModel alone = build({service(
      {.annotations = {{"haproxy-ingress/3306", "20001"}, {"haproxy-ingress/allow-sources", "10.0.0.0/8,bogus"}}})});
  EXPECT_TRUE(alone.model.listeners.empty());
  ASSERT_EQ(alone.warnings.at("team/db").size(), 1u);
  EXPECT_EQ(
      alone.warnings.at("team/db")[0],
      (Warning{"InvalidOption",
               "\"haproxy-ingress/allow-sources\" \"10.0.0.0/8,bogus\": entry 2 is not a CIDR range with its host "
               "bits clear (\"10.0.0.0/8\", \"fd00::/8\") or one address; the Service's ports are not served until "
               "it is fixed"}));
}

TEST(ModelBuilderTest, UnmarkedServicesAreIgnored) {
  auto wrong_class = service({.name = "nginx", .marked = false});
  std::const_pointer_cast<kube::Service>(wrong_class)->meta.annotations[kMarker] = "nginx";
  auto upper = service({.name = "upper", .marked = false});
  std::const_pointer_cast<kube::Service>(upper)->meta.annotations[kMarker] = "Haproxy-Ingress";
  BuiltModel built =
      build({service({.name = "plain", .marked = false}), wrong_class, upper,
             service({.name = "bad-option", .annotations = {{"haproxy-ingress/check", "x"}}, .marked = false})});
  EXPECT_TRUE(built.model.listeners.empty());
  EXPECT_TRUE(built.warnings.empty()) << warnings_text(built);
  // An unmarked Service claims nothing: the marked one gets the port even if younger.
  BuiltModel both = build({service({.name = "old", .marked = false, .created = "2020-01-01T00:00:00Z"}),
                           service({.name = "new", .created = "2026-01-01T00:00:00Z"})});
  EXPECT_EQ(both.owner, (std::map<int, std::string>{{20001, "team/new"}}));
}

TEST(ModelBuilderTest, HostileServiceNames) {
  const std::pair<std::string, std::string> names[] = {
      {"team", "Bad_Name"},
      {"team", "db\nbackend evil"},
      {"team", std::string(64, 'a')},
      {"team", ""},
      {"team", "-db"},
      {"team", "db.x"},
      {"team", "d\xC3\xA9"},
      {"team", std::string("db\0x", 4)},
      {"Team", "db"},
      {"te am", "db"},
      {"", "db"},
      {"a/b", "db"},
      {std::string(10'000, 'n'), "db"},
  };
  for (const auto& [ns, name] : names) {
    SCOPED_TRACE(::testing::PrintToString(ns.substr(0, 40) + "/" + name));
    ServicePtr s = service({.ns = ns,
                            .name = name,
                            .annotations = {{"haproxy-ingress/3306", "20001"}, {"haproxy-ingress/check", "bogus"}}});
    BuiltModel built = build({s}, {slice({.ns = ns, .service = name, .endpoints = {endpoint("10.0.0.1")}})});
    EXPECT_TRUE(built.model.listeners.empty());
    EXPECT_TRUE(built.owner.empty());
    ASSERT_EQ(built.warnings.count(s->meta.key()), 1u);
    const auto& warnings = built.warnings.at(s->meta.key());
    ASSERT_EQ(warnings.size(), 1u);  // the name only: its options are not even read
    EXPECT_EQ(warnings[0].reason, "InvalidName");
    EXPECT_THAT(warnings[0].message, HasSubstr("is not a DNS-1123 label; the Service is not served"));
    EXPECT_TRUE(std::ranges::all_of(warnings[0].message, [](char c) { return c >= 0x20 && c <= 0x7E; }))
        << warnings[0].message;
    EXPECT_LT(warnings[0].message.size(), 300u);
  }
  // A DNS-1123 label that starts with a digit is accepted (namespaces may).
  BuiltModel digits = build({service({.ns = "0team", .name = "1db"})});
  EXPECT_EQ(digits.model.listeners.size(), 1u);
}

TEST(ModelBuilderTest, OptionsReachTheListenerAndProblemsBecomeWarnings) {
  BuiltModel built = build({service({.annotations = {{"haproxy-ingress/3306", "20001"},
                                                     {"haproxy-ingress/check", "mysql"},
                                                     {"haproxy-ingress/check-user", "haproxy_check"},
                                                     {"haproxy-ingress/balance", "leastconn"},
                                                     {"haproxy-ingress/maxconn", "100"},
                                                     {"haproxy-ingress/allow-sources", "192.168.0.0/16,10.0.0.0/8"},
                                                     {"haproxy-ingress/timeout-client", "30\nm"},
                                                     {"haproxy-ingress/colour", "blue"}}})});
  ASSERT_TRUE(built.model.listeners.contains(20001));
  const haproxy::BackendOptions& o = built.model.listeners.at(20001).options;
  EXPECT_EQ(o.check, haproxy::CheckKind::kMysql);
  EXPECT_EQ(o.check_user, "haproxy_check");
  EXPECT_EQ(o.balance, haproxy::Balance::kLeastConn);
  EXPECT_EQ(o.maxconn, 100);
  ASSERT_EQ(o.allow_sources.size(), 2u);
  EXPECT_EQ(o.allow_sources[0].text(), "10.0.0.0/8");
  EXPECT_EQ(o.timeout_client, std::chrono::hours(24));
  EXPECT_THAT(built.warnings.at("team/db"),
              ElementsAre(Warning{"InvalidOption", "\"haproxy-ingress/colour\" \"blue\": unknown option; ignored"},
                          Warning{"InvalidOption",
                                  "\"haproxy-ingress/timeout-client\" \"30\\nm\": must be a Go duration of whole "
                                  "milliseconds from 1ms to 576h (24 days), e.g. 30s or 1h30m; using 24h0m0s"}));
}

// A mixed cluster: every rule at once, so that shuffling it tests order independence.
std::pair<std::vector<ServicePtr>, std::vector<SlicePtr>> mixed_cluster() {
  std::vector<ServicePtr> services;
  std::vector<SlicePtr> slices;
  for (int i = 0; i < 40; ++i) {
    const std::string name = fmt::format("svc-{}", i);
    std::map<std::string, std::string> annotations = {{"haproxy-ingress/3306", fmt::format("{}", 20000 + i % 30)}};
    if (i % 7 == 0) annotations["haproxy-ingress/backend"] = "clusterip";
    if (i % 5 == 0) annotations["haproxy-ingress/check"] = "pgsql";
    if (i % 11 == 0) annotations["haproxy-ingress/maxconn"] = "0";
    if (i % 13 == 0) annotations["haproxy-ingress/allow-sources"] = "bogus";
    services.push_back(service({.ns = i % 3 == 0 ? "a" : "b",
                                .name = name,
                                .annotations = annotations,
                                .marked = i % 9 != 8,
                                .created = fmt::format("2026-01-{:02}T00:00:00Z", 1 + i % 4),
                                .uid = fmt::format("uid-{}", 97 * i % 40),
                                .cluster_ip = i % 2 ? "None" : fmt::format("10.96.0.{}", i)}));
    for (int s = 0; s < 2; ++s) {
      std::vector<kube::Endpoint> endpoints = {endpoint(fmt::format("10.1.{}.{}", i, s)), endpoint("10.2.0.1"),
                                               endpoint(fmt::format("10.3.{}.{}", i, s), false)};
      if (i % 4 == 0) endpoints.push_back(endpoint(fmt::format("bad-{}", s)));
      slices.push_back(slice({.ns = i % 3 == 0 ? "a" : "b",
                              .name = fmt::format("{}-{}", name, s),
                              .service = name,
                              .type = s == 1 && i % 6 == 0 ? "IPv6" : "IPv4",
                              .endpoints = std::move(endpoints)}));
    }
  }
  services.push_back(service({.ns = "b", .name = "Invalid"}));
  return {services, slices};
}

TEST(ModelBuilderTest, TheSameObjectsInAnyOrderGiveTheSameResult) {
  auto [services, slices] = mixed_cluster();
  const BuiltModel reference = build(services, slices, {20003});
  EXPECT_GT(reference.model.listeners.size(), 10u);
  EXPECT_GT(reference.warnings.size(), 5u);
  std::mt19937 random(12345);
  for (int round = 0; round < 20; ++round) {
    std::ranges::shuffle(services, random);
    std::ranges::shuffle(slices, random);
    BuiltModel built = build(services, slices, {20003});
    EXPECT_EQ(built.model, reference.model) << "round " << round;
    EXPECT_EQ(built.warnings, reference.warnings) << "round " << round;
    EXPECT_EQ(built.owner, reference.owner) << "round " << round;
  }
  // Duplicates and nulls change nothing either.
  std::vector<ServicePtr> doubled = services;
  doubled.insert(doubled.end(), services.begin(), services.end());
  doubled.push_back(nullptr);
  std::vector<SlicePtr> slices_doubled = slices;
  slices_doubled.insert(slices_doubled.end(), slices.begin(), slices.end());
  slices_doubled.push_back(nullptr);
  BuiltModel built = build(doubled, slices_doubled, {20003});
  EXPECT_EQ(built.model, reference.model);
  EXPECT_EQ(built.warnings, reference.warnings);
}

void expect_same_build(const BuiltModel& built, const BuiltModel& expected, int step) {
  ASSERT_EQ(built.model, expected.model) << "step " << step;
  ASSERT_EQ(built.warnings, expected.warnings) << "step " << step;
  ASSERT_EQ(built.owner, expected.owner) << "step " << step;
  ASSERT_EQ(built.unserved, expected.unserved) << "step " << step;
}

// One builder kept across changes (as the sync loop keeps it) builds what a fresh one does:
// what it keeps of a Service is dropped when the Service or one of its slices is replaced,
// removed or added, and the result it patches is the one a fresh builder would make, whether
// the caller released the last one (patched in place), still holds it (copied first, and the
// held one stays as it was), or the unusable host ports changed (built anew).
TEST(ModelBuilderTest, ABuilderKeptAcrossChangesBuildsWhatAFreshOneDoes) {
  auto [services, slices] = mixed_cluster();
  const ModelBuilder kept(controller::AnnotationConfig{}, pool());
  std::mt19937 random(4242);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
  std::set<int> unusable = {20003};
  std::shared_ptr<const BuiltModel> held;  // an earlier result the caller still holds
  BuiltModel held_then;                    // what it was when it was built
  for (int step = 0; step < 200; ++step) {
    if (step % 20 == 19) {  // a host port becomes unusable here, or usable again
      unusable = step % 40 == 19 ? std::set<int>{20003, static_cast<int>(20000 + pick(30))} : std::set<int>{20003};
    }
    switch (step % 6) {
      case 0: {  // a Service's annotations change: a new object under the same key
        auto changed = std::make_shared<kube::Service>(*services[pick(services.size())]);
        changed->meta.annotations["haproxy-ingress/3306"] = fmt::format("{}", 20000 + pick(40));
        changed->meta.annotations["haproxy-ingress/check"] = step % 4 ? "tcp" : "bad value";
        changed->meta.resource_version = fmt::format("{}", step);
        std::erase_if(services, [&](const ServicePtr& s) { return s->meta.key() == changed->meta.key(); });
        services.push_back(changed);
        break;
      }
      case 1: {  // a slice's endpoints change
        auto changed = std::make_shared<kube::EndpointSlice>(*slices[pick(slices.size())]);
        changed->endpoints = {endpoint(fmt::format("10.9.{}.{}", step % 200, pick(200) + 1)),
                              endpoint(step % 3 ? "10.9.0.1" : "not-an-address")};
        changed->meta.resource_version = fmt::format("{}", step);
        std::erase_if(slices, [&](const SlicePtr& s) { return s->meta.name == changed->meta.name; });
        slices.push_back(changed);
        break;
      }
      case 2:  // a slice goes away
        if (slices.size() > 10) slices.erase(slices.begin() + static_cast<std::ptrdiff_t>(pick(slices.size())));
        break;
      case 3: {  // a slice appears, for a Service that may have had none
        const ServicePtr& owner = services[pick(services.size())];
        slices.push_back(slice({.ns = owner->meta.namespace_,
                                .name = fmt::format("{}-extra-{}", owner->meta.name, step),
                                .service = owner->meta.name,
                                .endpoints = {endpoint(fmt::format("10.8.0.{}", step % 250 + 1))}}));
        break;
      }
      case 4:  // a Service goes away
        if (services.size() > 10) services.erase(services.begin() + static_cast<std::ptrdiff_t>(pick(services.size())));
        break;
      case 5:  // a Service comes (back), or nothing changes
        if (step % 12 == 5) services.push_back(service({.name = fmt::format("new-{}", step),
                                                        .annotations = {{"haproxy-ingress/3306", "20005"}}}));
        break;
    }
    const BuiltModel fresh = build(services, slices, unusable);
    const std::shared_ptr<const BuiltModel> built = kept.build(services, slices, unusable);
    ASSERT_NO_FATAL_FAILURE(expect_same_build(*built, fresh, step));
    if (held) {
      ASSERT_NO_FATAL_FAILURE(expect_same_build(*held, held_then, step));
    }
    if (step % 3 == 0) {  // held across the next build, which must copy it before patching
      held = built;
      held_then = *built;
    } else {
      held.reset();
    }
  }
}

}  // namespace
}  // namespace berth::dataplane

namespace berth::dataplane {
namespace {

// Every marked TCP port without a listener is listed with why, for `berth status`.
TEST(ModelBuilderUnserved, EachMarkedPortWithoutAListenerSaysWhy) {
  const auto built = build(
      {service({.name = "served"}),
       service({.name = "waiting", .annotations = {}}),
       service({.name = "garbled", .annotations = {{"haproxy-ingress/3306", "lots"}}}),
       service({.name = "outside", .annotations = {{"haproxy-ingress/3306", "8080"}}}),
       service({.name = "busy", .annotations = {{"haproxy-ingress/3306", "20005"}}}),
       service({.name = "younger", .created = "2026-06-01T00:00:00Z"}),  // wants served's 20001
       service({.name = "refused", .annotations = {{"haproxy-ingress/3306", "20007"},
                                                   {"haproxy-ingress/allow-sources", "not-a-cidr"}}}),
       service({.name = "udp-only", .ports = {[] { auto p = service_port(53, "dns"); p.protocol = "UDP"; return p; }()},
                .annotations = {}}),
       service({.name = "unmarked", .annotations = {}, .marked = false})},
      {}, {20005});
  EXPECT_EQ(built.model.listeners.size(), 1u);
  EXPECT_EQ(built.unserved,
            (std::vector<UnservedPort>{
                {"team/busy", 3306, 20005, "the host port is unusable here"},
                {"team/garbled", 3306, 0, "the allocation annotation is not a port number"},
                {"team/outside", 3306, 8080, "the host port is outside the pool"},
                {"team/refused", 3306, 20007, "the Service is not served (see its Warnings)"},
                {"team/waiting", 3306, 0, "no host port allocated yet"},
                {"team/younger", 3306, 20001, "an older claim holds the host port"}}));
}

}  // namespace
}  // namespace berth::dataplane

namespace berth::dataplane {
namespace {

// The host ports whose listener differs between two models: present in one only, or changed.
std::set<int> listeners_that_differ(const haproxy::Model& before, const haproxy::Model& after) {
  std::set<int> out;
  for (const auto& [port, listener] : before.listeners) {
    auto now = after.listeners.find(port);
    if (now == after.listeners.end() || !(now->second == listener)) out.insert(port);
  }
  for (const auto& [port, listener] : after.listeners) {
    if (!before.listeners.contains(port)) out.insert(port);
  }
  return out;
}

// A builder that follows the Stores' change logs builds what a fresh builder makes of the
// Stores' lists, after any change a cluster makes: Services created, changed, unmarked,
// recreated and deleted; slices changed, added, deleted, moved from one Service to another and
// made unusable (FQDN, no Service name); host ports contested; a relist (replace()); more changes
// than a log keeps; an unrelated vector build in between; the unusable host ports changing.
// And each result's changed_ports names every host port whose listener differs from the last.
TEST(ModelBuilderStores, ABuilderFollowingTheChangeLogsBuildsWhatAFreshOneDoes) {
  auto [initial_services, initial_slices] = mixed_cluster();
  // Small logs, so that a burst of changes outruns them and the builder must list everything.
  kube::Store<kube::Service> services(/*change_log_capacity=*/48);
  kube::Store<kube::EndpointSlice> slices(/*change_log_capacity=*/24);
  for (const ServicePtr& s : initial_services) services.upsert(s);
  for (const SlicePtr& s : initial_slices) slices.upsert(s);

  const ModelBuilder kept(controller::AnnotationConfig{}, pool());
  std::mt19937 random(777);
  auto pick = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); };
  int version = 100;  // every changed object gets a new resourceVersion, as from the API server
  auto next_version = [&] { return std::to_string(++version); };
  auto any_service = [&] {
    auto all = services.list();
    return all[pick(all.size())];
  };
  auto any_slice = [&] {
    auto all = slices.list();
    return all[pick(all.size())];
  };

  // One random change; returns whether a Store's content changed. Adds to `ports_bound` how many
  // host ports it may change at most: every Service here has one TCP port, and a change reaches
  // at most two Services (a Service's old and new host port, a slice's old and new Service).
  std::size_t ports_bound = 0;
  auto change = [&](int step) -> bool {
    ports_bound += 2;
    switch (pick(12)) {
      case 0: {  // annotations: another host port (often a contested one), options
        auto s = std::make_shared<kube::Service>(*any_service());
        s->meta.annotations["haproxy-ingress/3306"] = fmt::format("{}", 20000 + pick(40));
        s->meta.annotations["haproxy-ingress/check"] = pick(3) ? "tcp" : "bad value";
        if (pick(4) == 0) s->meta.annotations["haproxy-ingress/backend"] = pick(2) ? "clusterip" : "endpoints";
        s->meta.resource_version = next_version();
        return services.upsert(s);
      }
      case 1: {  // marked → unmarked, or back
        auto s = std::make_shared<kube::Service>(*any_service());
        if (s->meta.annotations.erase(kMarker) == 0) s->meta.annotations[kMarker] = kClass;
        s->meta.resource_version = next_version();
        return services.upsert(s);
      }
      case 2: {  // a new Service, maybe older than the holder of the host port it wants
        const std::string ns = pick(2) ? "a" : "b";
        return services.upsert(service({.ns = ns,
                                        .name = fmt::format("new-{}", step),
                                        .annotations = {{"haproxy-ingress/3306", fmt::format("{}", 20000 + pick(40))}},
                                        .created = fmt::format("2026-01-{:02}T00:00:00Z", 1 + pick(5)),
                                        .uid = fmt::format("uid-new-{}", step)}));
      }
      case 3:  // a Service deleted
        return services.size() > 10 && services.remove(any_service()->meta.key());
      case 4: {  // a Service deleted and created again under its key: a new uid
        auto s = std::make_shared<kube::Service>(*any_service());
        s->meta.uid = fmt::format("uid-again-{}", step);
        s->meta.resource_version = next_version();
        s->meta.creation_timestamp = "2026-02-01T00:00:00Z";
        return services.upsert(s);
      }
      case 5: {  // a slice's endpoints change
        auto s = std::make_shared<kube::EndpointSlice>(*any_slice());
        s->endpoints = {endpoint(fmt::format("10.9.{}.{}", step % 200, pick(200) + 1)),
                        endpoint(pick(3) ? "10.9.0.1" : "not-an-address")};
        s->meta.resource_version = next_version();
        return slices.upsert(s);
      }
      case 6: {  // a slice moves to another Service of its namespace (or one that does not exist)
        auto s = std::make_shared<kube::EndpointSlice>(*any_slice());
        const auto candidates = services.list_namespace(s->meta.namespace_);
        s->service_name = candidates.empty() || pick(8) == 0 ? "nobody" : candidates[pick(candidates.size())]->meta.name;
        s->meta.labels[std::string(kube::kServiceNameLabel)] = s->service_name;
        s->meta.resource_version = next_version();
        return slices.upsert(s);
      }
      case 7:  // a slice deleted
        return slices.size() > 5 && slices.remove(any_slice()->meta.key());
      case 8: {  // a slice for some Service, which may have had none
        const ServicePtr owner = any_service();
        return slices.upsert(slice({.ns = owner->meta.namespace_,
                                    .name = fmt::format("{}-extra-{}", owner->meta.name, step),
                                    .service = owner->meta.name,
                                    .type = pick(4) ? "IPv4" : "IPv6",
                                    .endpoints = {endpoint(fmt::format("10.8.0.{}", step % 250 + 1)),
                                                  endpoint(fmt::format("fd00::{:x}", step + 1))}}));
      }
      case 9: {  // a slice becomes unusable (FQDN, or no Service name), or usable again
        auto s = std::make_shared<kube::EndpointSlice>(*any_slice());
        if (s->address_type == "FQDN" || s->service_name.empty()) {
          s->address_type = "IPv4";
          s->service_name = s->meta.labels[std::string(kube::kServiceNameLabel)];
        } else if (pick(2)) {
          s->address_type = "FQDN";
        } else {
          s->service_name.clear();
        }
        s->meta.resource_version = next_version();
        return slices.upsert(s);
      }
      case 10:  // the watch repeats what the Stores have: not a change
        return services.upsert(any_service()) || slices.upsert(any_slice());
      default: {  // a relist that changed a few objects: replace() with its diff
        ports_bound += 9;  // three times: a Service changed (old and new host port), another removed
        std::vector<ServicePtr> relisted = services.list();
        for (int i = 0; i < 3; ++i) {
          auto s = std::make_shared<kube::Service>(*relisted[pick(relisted.size())]);
          s->meta.annotations["haproxy-ingress/3306"] = fmt::format("{}", 20000 + pick(40));
          s->meta.resource_version = next_version();
          relisted[pick(relisted.size())] = s;  // one replaced by the changed other: a removal, maybe
        }
        return !services.replace(std::move(relisted), next_version()).empty();
      }
    }
  };

  std::set<int> unusable = {20003};
  std::optional<haproxy::Model> previous;  // the last result's listeners
  std::shared_ptr<const BuiltModel> held;  // an earlier result the caller still holds
  BuiltModel held_then;
  int patched = 0;  // results that say which listeners changed
  for (int step = 0; step < 600; ++step) {
    if (step % 50 == 49) {  // a host port becomes unusable here, or usable again: built anew
      unusable = step % 100 == 49 ? std::set<int>{20003, static_cast<int>(20000 + pick(30))} : std::set<int>{20003};
    }
    int changes = step % 40 == 39 ? 60 : static_cast<int>(pick(3));  // now and then more than a log keeps
    bool changed = false;
    ports_bound = 0;
    for (int i = 0; i < changes; ++i) changed = change(step) || changed;
    const bool vector_build = step % 73 == 72;
    if (vector_build) {  // an unrelated vector build: the next build from the Stores starts over
      std::vector<ServicePtr> some = services.list();
      some.resize(some.size() / 2);
      const BuiltModel other = *kept.build(some, {}, unusable);
      ASSERT_NO_FATAL_FAILURE(expect_same_build(other, build(some, {}, unusable), step));
      previous = other.model;
    }

    const std::shared_ptr<const BuiltModel> built = kept.build(services, slices, unusable);
    const BuiltModel fresh = build(services.list(), slices.list(), unusable);
    ASSERT_NO_FATAL_FAILURE(expect_same_build(*built, fresh, step));
    if (held) {
      ASSERT_NO_FATAL_FAILURE(expect_same_build(*held, held_then, step));
    }
    if (built->changed_ports) {
      ++patched;
      ASSERT_TRUE(previous) << "step " << step << ": the first build must say any listener may differ";
      const std::set<int> differ = listeners_that_differ(*previous, built->model);
      ASSERT_TRUE(std::ranges::includes(*built->changed_ports, differ))
          << "step " << step << ": changed_ports " << fmt::format("{}", fmt::join(*built->changed_ports, ",")) << " misses some of "
          << fmt::format("{}", fmt::join(differ, ","));
      // Small: only what the changes may have touched; nothing when nothing changed.
      if (!vector_build) {
        EXPECT_LE(built->changed_ports->size(), changed ? ports_bound : 0) << "step " << step;
      }
    }
    previous = built->model;
    if (step % 3 == 0) {  // held across the next build, which must copy it before patching
      held = built;
      held_then = *built;
    } else {
      held.reset();
    }
  }
  EXPECT_GT(patched, 400);  // most builds patched; the rest started from nothing
}

}  // namespace
}  // namespace berth::dataplane
