// rebuild_range_state: what berth reads back from a running range-mode HAProxy when it adopts
// one, and what it refuses to guess.
#include "haproxy/range/running_state.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "haproxy/model_fixtures.h"

namespace berth::haproxy {
namespace {

constexpr std::string_view kStateHeader =
    "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state "
    "bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr "
    "srv_agent_addr srv_agent_port\n";

std::string state_line(int id, const std::string& backend, int slot, const std::string& address, int port, int admin) {
  return fmt::format("{} {} {} s{} {} 2 {} 1 1 0 1 0 2 6 0 0 0 - {} - 0 0 - - 0\n", id, backend, slot, slot, address, admin,
                     port);
}

struct Fixture {
  std::string id = kind_id(kind_of(BackendOptions{}));
  std::string b1 = range_backend_name(id, 1);
  std::string b2 = range_backend_name(id, 2);
  RunningRangeAnswers answers{
      .config_text = "frontend berth_range\n    bind 127.0.0.1:20000-20009\n    bind 127.0.0.1:20011-20019\n",
      .ports_map = "0x1 20001 " + b1 + "\n",
      .services_map = "0x2 20001 tenant/db:3306\n",
      .maxconn_map = "0x3 20001 9\n",
      .servers_state = std::string(kStateHeader) + state_line(3, b1, 1, "10.0.0.7", 3306, 4) +
                       state_line(3, b1, 2, "127.0.0.1", 1, 5) + state_line(4, b2, 1, "127.0.0.1", 1, 5) +
                       state_line(4, b2, 2, "127.0.0.1", 1, 5)};
  std::map<std::string, BackendKind> kinds{{id, kind_of(BackendOptions{})}};
  std::function<std::optional<std::string>(const std::string&)> acl = [](const std::string&) {
    return std::optional<std::string>("10.1.0.0/16\n");
  };
};

TEST(RunningRangeState, RoutesLayoutAndLimitsComeBack) {
  Fixture f;
  auto state = rebuild_range_state(f.answers, f.kinds, f.acl);
  ASSERT_TRUE(state) << state.error().describe();
  EXPECT_EQ(state->layout.binds, (std::vector<PortSpan>{{20000, 20009}, {20011, 20019}}));
  EXPECT_EQ(state->layout.backends.size(), 2u);
  ASSERT_TRUE(state->routes.contains(20001));
  const Route& route = state->routes.at(20001);
  EXPECT_EQ(route.backend, f.b1);
  EXPECT_EQ(route.service, (ServiceRef{.ns = "tenant", .name = "db", .port = 3306}));
  EXPECT_EQ(route.slots, (Slots{server("10.0.0.7", 3306), std::nullopt}));
  EXPECT_EQ(route.maxconn, 9);
  EXPECT_EQ(route.allow_sources, (std::vector<Cidr>{*Cidr::parse("10.1.0.0/16")}));
  EXPECT_EQ(state->draining, (std::set<std::string>{f.b2})) << "an unrouted backend may still hold sessions";
}

TEST(RunningRangeState, WhatCannotBeRenderedAgainIsRefused) {
  {
    Fixture f;
    f.kinds.clear();
    EXPECT_FALSE(rebuild_range_state(f.answers, f.kinds, f.acl)) << "a kind no Service has";
  }
  {
    Fixture f;
    f.answers.ports_map = "0x1 20001 k00000000_1\n";
    EXPECT_FALSE(rebuild_range_state(f.answers, f.kinds, f.acl)) << "a route to no backend";
  }
  {
    Fixture f;
    f.acl = [](const std::string&) { return std::optional<std::string>("not a cidr\n"); };
    EXPECT_FALSE(rebuild_range_state(f.answers, f.kinds, f.acl)) << "an ACL file berth did not write";
  }
  {
    Fixture f;
    f.answers.services_map = "";
    EXPECT_FALSE(rebuild_range_state(f.answers, f.kinds, f.acl)) << "a route with no Service";
  }
}

}  // namespace
}  // namespace berth::haproxy
