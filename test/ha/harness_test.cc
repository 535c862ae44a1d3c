// The HA test's harness on its own: NetworkNamespace and KeepalivedProcess make, run and remove
// what they say, and leave nothing behind. Root only, like the HA test.
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/child_process.h"
#include "support/echo_server.h"
#include "support/foreign_processes.h"
#include "support/keepalived_process.h"
#include "support/network_namespace.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

bool namespace_listed(const std::string& name) {
  auto listed = run_command({kIpBinary, "netns", "list"}, 10s);
  return listed && listed->out.find(name) != std::string::npos;
}

TEST(HighAvailabilityHarness, ANamespaceIsMadeUniqueIsolatedAndRemoved) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  const std::string name = NetworkNamespace::unique_name("harness");
  EXPECT_NE(name, NetworkNamespace::unique_name("harness"));
  EXPECT_NE(name.find(std::to_string(::getpid())), std::string::npos) << name;
  {
    auto ns = NetworkNamespace::create(name);
    ASSERT_TRUE(ns) << ns.error().describe();
    EXPECT_TRUE(namespace_listed(name));

    // A server made inside listens on the namespace's own loopback: reachable from a thread
    // inside, not from the test's namespace.
    std::unique_ptr<EchoServer> server;
    ASSERT_TRUE((*ns)->run_inside([&] { server = std::make_unique<EchoServer>("inside", "127.0.0.1"); }));
    ASSERT_TRUE(server->ok());
    std::string inside;
    ASSERT_TRUE((*ns)->run_inside([&] {
      auto greeting = greeting_at("127.0.0.1", server->port(), 2s);
      inside = greeting ? *greeting : greeting.error().describe();
    }));
    EXPECT_EQ(inside, "inside");
    EXPECT_NE(greeting_at("127.0.0.1", server->port(), 2s).value_or(""), "inside");

    // The launcher execs the command inside: ip sees the namespace's links only.
    auto links = (*ns)->exec({kIpBinary, "-o", "link", "show"}, 10s);
    ASSERT_TRUE(links);
    EXPECT_NE(links->out.find("lo:"), std::string::npos) << links->out;
    EXPECT_EQ(links->out.find("eth0"), std::string::npos) << links->out;
    auto added = (*ns)->ip({"link", "add", "v0", "type", "veth", "peer", "name", "v1"});
    EXPECT_TRUE(added) << added.error().describe();
    auto again = (*ns)->ip({"link", "add", "v0", "type", "veth", "peer", "name", "v1"});
    ASSERT_FALSE(again) << "ip's failure is an error";
    EXPECT_NE(again.error().message.find("File exists"), std::string::npos) << again.error().message;
  }
  EXPECT_FALSE(namespace_listed(name));
}

TEST(HighAvailabilityHarness, ACrashedKeepalivedLeavesNoVrrpChildAndKeepsItsVip) {
  if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
  if (::access(kKeepalivedBinary, X_OK) != 0) GTEST_SKIP() << kKeepalivedBinary << " is missing";
  auto ns = NetworkNamespace::create(NetworkNamespace::unique_name("vrrp"));
  ASSERT_TRUE(ns) << ns.error().describe();
  // A veth pair with both ends inside: eth0 has a carrier, and its adverts go nowhere else.
  for (const auto& args : {std::vector<std::string>{"link", "add", "eth0", "type", "veth", "peer", "name", "eth1"},
                           std::vector<std::string>{"addr", "add", "198.18.1.1/24", "dev", "eth0"},
                           std::vector<std::string>{"link", "set", "eth1", "up"},
                           std::vector<std::string>{"link", "set", "eth0", "up"}}) {
    auto done = (*ns)->ip(args);
    ASSERT_TRUE(done) << done.error().describe();
  }
  const std::string config = R"(global_defs {
  vrrp_version 3
}
vrrp_instance alone {
  state BACKUP
  interface eth0
  virtual_router_id 7
  priority 100
  advert_int 0.1
  virtual_ipaddress {
    198.18.1.200/32 dev eth0
  }
}
)";
  auto has_vip = [&] {
    auto addresses = (*ns)->exec({kIpBinary, "-o", "addr", "show", "dev", "eth0"}, 10s);
    return addresses && addresses->out.find("198.18.1.200/32") != std::string::npos;
  };

  KeepalivedProcess keepalived(config, (*ns)->launcher());
  ASSERT_TRUE(keepalived.start());
  EXPECT_TRUE(is_live_process(keepalived.pid(), "keepalived")) << "the launcher execs keepalived";
  EXPECT_TRUE(is_live_process(keepalived.vrrp_pid(), "keepalived"));
  ASSERT_TRUE(keepalived.process().wait_for_log("Entering MASTER STATE", 10s)) << keepalived.process().log();
  EXPECT_TRUE(has_vip());

  keepalived.crash();
  EXPECT_TRUE(wait_until_gone({keepalived.pid(), keepalived.vrrp_pid()}, "keepalived", 2s));
  // No goodbye: the VIP is still configured, as on a host that lost power.
  EXPECT_TRUE(has_vip());
  EXPECT_EQ(keepalived.process().count_in_log("removing VIPs"), 1u) << "only the one at start-up";
}

}  // namespace
}  // namespace berth::testing
