#include "controller/tcp_ports.h"

#include <gtest/gtest.h>

#include "controller/service_port_fixture.h"

namespace berth::controller {
namespace {

std::vector<std::int32_t> numbers(const std::vector<kube::ServicePort>& ports) {
  std::vector<std::int32_t> out;
  for (const auto& p : ports) out.push_back(p.port);
  return out;
}

TEST(TcpPortsTest, SplitsTcpFromTheRest) {
  struct Case {
    const char* name;
    std::vector<kube::ServicePort> ports;
    std::vector<std::int32_t> tcp;
    std::vector<std::int32_t> skipped;
    std::vector<std::string> reasons;
  };
  const Case cases[] = {
      {"no ports", {}, {}, {}, {}},
      {"one TCP", {port(3306, "TCP")}, {3306}, {}, {}},
      {"empty protocol is TCP", {port(5432, "")}, {5432}, {}, {}},
      {"UDP skipped", {port(53, "UDP")}, {}, {53}, {"protocol UDP is not supported, only TCP"}},
      {"SCTP skipped", {port(9999, "SCTP")}, {}, {9999}, {"protocol SCTP is not supported, only TCP"}},
      {"mixed keeps spec order",
       {port(6379, "TCP"), port(53, "UDP"), port(3306, "TCP"), port(2905, "SCTP")},
       {6379, 3306},
       {53, 2905},
       {"protocol UDP is not supported, only TCP", "protocol SCTP is not supported, only TCP"}},
      {"same number TCP and UDP", {port(53, "TCP"), port(53, "UDP")}, {53}, {53}, {"protocol UDP is not supported, only TCP"}},
      {"duplicate TCP number kept once", {port(80, "TCP", "a"), port(80, "TCP", "b")}, {80}, {}, {}},
      {"lowercase protocol is not TCP", {port(80, "tcp")}, {}, {80}, {"protocol tcp is not supported, only TCP"}},
      {"port 0 skipped", {port(0, "TCP")}, {}, {0}, {"port 0 is outside 1..65535"}},
      {"port 65536 skipped", {port(65536, "TCP")}, {}, {65536}, {"port 65536 is outside 1..65535"}},
  };
  for (const Case& c : cases) {
    kube::Service service;
    service.ports = c.ports;
    TcpPorts result = tcp_ports(service);
    EXPECT_EQ(numbers(result.tcp), c.tcp) << c.name;
    std::vector<kube::ServicePort> skipped_ports;
    std::vector<std::string> reasons;
    for (const auto& s : result.skipped) {
      skipped_ports.push_back(s.port);
      reasons.push_back(s.reason);
    }
    EXPECT_EQ(numbers(skipped_ports), c.skipped) << c.name;
    EXPECT_EQ(reasons, c.reasons) << c.name;
  }
}

TEST(TcpPortsTest, SkippedPortKeepsTheWholeSpecPortForTheEvent) {
  kube::Service service;
  service.ports = {port(53, "UDP", "dns")};
  TcpPorts result = tcp_ports(service);
  ASSERT_EQ(result.skipped.size(), 1u);
  EXPECT_EQ(result.skipped[0].port.name, "dns");
}

}  // namespace
}  // namespace berth::controller
