#include "controller/allocation_annotations.h"

#include <gtest/gtest.h>

#include "controller/service_port_fixture.h"

namespace berth::controller {
namespace {

kube::Service service_with(std::vector<kube::ServicePort> ports, std::map<std::string, std::string> annotations) {
  kube::Service service;
  service.meta.name = "db";
  service.meta.namespace_ = "team";
  service.meta.annotations = std::move(annotations);
  service.ports = std::move(ports);
  return service;
}

TEST(AllocationAnnotationsTest, ParseHostPort) {
  struct Case {
    const char* text;
    HostPortValue expected;
  };
  const Case cases[] = {
      {"26735", 26735},
      {"1", 1},
      {"65535", 65535},
      {"026735", InvalidValue{"026735", "leading zero"}},
      {"0", InvalidValue{"0", "out of range 1..65535"}},
      {"00", InvalidValue{"00", "leading zero"}},
      {"-1", InvalidValue{"-1", "not a number"}},
      {"+1", InvalidValue{"+1", "not a number"}},
      {"70000", InvalidValue{"70000", "out of range 1..65535"}},
      {"65536", InvalidValue{"65536", "out of range 1..65535"}},
      {"99999999999999999999", InvalidValue{"99999999999999999999", "out of range 1..65535"}},
      {"", InvalidValue{"", "empty"}},
      {" 1", InvalidValue{" 1", "not a number"}},
      {"1 ", InvalidValue{"1 ", "not a number"}},
      {"abc", InvalidValue{"abc", "not a number"}},
      {"1e3", InvalidValue{"1e3", "not a number"}},
      {"0x50", InvalidValue{"0x50", "not a number"}},
      {"٣", InvalidValue{"٣", "not a number"}},
  };
  for (const Case& c : cases) EXPECT_EQ(parse_host_port(c.text), c.expected) << '"' << c.text << '"';
}

TEST(AllocationAnnotationsTest, ReadsValuesPerTcpPortAndReportsStaleKeys) {
  struct Case {
    const char* name;
    std::vector<kube::ServicePort> ports;
    std::map<std::string, std::string> annotations;
    std::map<int, HostPortValue> by_service_port;
    std::vector<StaleAllocation> stale;
  };
  const Case cases[] = {
      {"no annotations", {port(3306)}, {}, {}, {}},
      {"valid allocation", {port(3306)}, {{"haproxy-ingress/3306", "26735"}}, {{3306, 26735}}, {}},
      {"invalid value kept per port",
       {port(3306), port(33060)},
       {{"haproxy-ingress/3306", "026735"}, {"haproxy-ingress/33060", "abc"}},
       {{3306, InvalidValue{"026735", "leading zero"}}, {33060, InvalidValue{"abc", "not a number"}}},
       {}},
      {"option annotations ignored",
       {port(3306)},
       {{"haproxy-ingress/check", "true"},
        {"haproxy-ingress/backend", "x"},
        {"haproxy-ingress/quarantine", "{}"},
        {"ingress", "haproxy-ingress"},
        {"other.example.com/3306", "1"},
        {"haproxy-ingress/3306", "26735"}},
       {{3306, 26735}},
       {}},
      {"port removed from spec is stale",
       {port(3306)},
       {{"haproxy-ingress/3306", "26735"}, {"haproxy-ingress/5432", "26736"}},
       {{3306, 26735}},
       {{"haproxy-ingress/5432", 26736}}},
      {"UDP port's key is stale", {port(53, "UDP")}, {{"haproxy-ingress/53", "20000"}}, {}, {{"haproxy-ingress/53", 20000}}},
      {"non-canonical keys are stale",
       {port(3306)},
       {{"haproxy-ingress/03306", "26735"}, {"haproxy-ingress/0", "1"}, {"haproxy-ingress/70000", "x"}},
       {},
       {{"haproxy-ingress/0", 1},
        {"haproxy-ingress/03306", 26735},
        {"haproxy-ingress/70000", InvalidValue{"x", "not a number"}}}},
      {"no spec ports: all stale", {}, {{"haproxy-ingress/3306", "26735"}}, {}, {{"haproxy-ingress/3306", 26735}}},
  };
  AnnotationConfig config;
  for (const Case& c : cases) {
    AllocationAnnotations result = read_allocation_annotations(service_with(c.ports, c.annotations), config);
    EXPECT_EQ(result.by_service_port, c.by_service_port) << c.name;
    EXPECT_EQ(result.stale, c.stale) << c.name;
  }
}

TEST(AllocationAnnotationsTest, CustomPrefix) {
  AnnotationConfig config{.prefix = "ports.example.com"};
  AllocationAnnotations result = read_allocation_annotations(
      service_with({port(3306)}, {{"ports.example.com/3306", "26735"}, {"haproxy-ingress/3306", "1"}}), config);
  EXPECT_EQ(result.by_service_port, (std::map<int, HostPortValue>{{3306, 26735}}));
  EXPECT_TRUE(result.stale.empty());
}

TEST(AllocationAnnotationsTest, Changes) {
  using Changes = kube::AnnotationChanges;
  struct Case {
    const char* name;
    std::map<std::string, std::string> annotations;
    std::map<int, int> desired;
    Changes expected;
  };
  const Case cases[] = {
      {"nothing to nothing", {}, {}, {}},
      {"add", {{"ingress", "haproxy-ingress"}}, {{3306, 26735}}, {{"haproxy-ingress/3306", "26735"}}},
      {"no-op is empty", {{"haproxy-ingress/3306", "26735"}}, {{3306, 26735}}, {}},
      {"change", {{"haproxy-ingress/3306", "26735"}}, {{3306, 20000}}, {{"haproxy-ingress/3306", "20000"}}},
      {"non-canonical value rewritten", {{"haproxy-ingress/3306", "026735"}}, {{3306, 26735}},
       {{"haproxy-ingress/3306", "26735"}}},
      {"delete", {{"haproxy-ingress/3306", "26735"}, {"haproxy-ingress/5432", "26736"}}, {{3306, 26735}},
       {{"haproxy-ingress/5432", std::nullopt}}},
      {"unmarked: delete all allocations, keep options",
       {{"haproxy-ingress/3306", "26735"}, {"haproxy-ingress/check", "true"}, {"ingress", "nginx"}},
       {},
       {{"haproxy-ingress/3306", std::nullopt}}},
      {"non-canonical key deleted, canonical added",
       {{"haproxy-ingress/03306", "26735"}},
       {{3306, 26735}},
       {{"haproxy-ingress/03306", std::nullopt}, {"haproxy-ingress/3306", "26735"}}},
      {"add, change and delete at once",
       {{"haproxy-ingress/1", "20001"}, {"haproxy-ingress/2", "20002"}, {"haproxy-ingress/3", "20003"},
        {"haproxy-ingress/backend", "b"}},
       {{1, 20001}, {2, 29999}, {4, 20004}},
       {{"haproxy-ingress/2", "29999"}, {"haproxy-ingress/3", std::nullopt}, {"haproxy-ingress/4", "20004"}}},
      {"other prefixes untouched", {{"other.example.com/3306", "1"}}, {}, {}},
  };
  AnnotationConfig config;
  for (const Case& c : cases) {
    kube::ObjectMeta meta;
    meta.annotations = c.annotations;
    EXPECT_EQ(allocation_changes(meta, config, c.desired), c.expected) << c.name;
  }
}

TEST(AllocationAnnotationsTest, ChangesThenReadRoundTrip) {
  AnnotationConfig config;
  kube::Service service = service_with({port(3306), port(5432)}, {{"haproxy-ingress/9", "x"}, {"ingress", "haproxy-ingress"}});
  std::map<int, int> desired{{3306, 26735}, {5432, 20000}};
  for (const auto& [key, value] : allocation_changes(service.meta, config, desired)) {
    if (value) {
      service.meta.annotations[key] = *value;
    } else {
      service.meta.annotations.erase(key);
    }
  }
  AllocationAnnotations read = read_allocation_annotations(service, config);
  EXPECT_EQ(read.by_service_port, (std::map<int, HostPortValue>{{3306, 26735}, {5432, 20000}}));
  EXPECT_TRUE(read.stale.empty());
  EXPECT_TRUE(allocation_changes(service.meta, config, desired).empty());
}

}  // namespace
}  // namespace berth::controller
