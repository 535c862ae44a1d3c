// plan_range_update, split_spans and the backend names: the pure part of range mode, where the
// order of runtime commands decides whether a client can ever reach a half-set backend.
#include "haproxy/range/range_plan.h"

#include <algorithm>
#include <random>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "haproxy/model_fixtures.h"
#include "haproxy/range/backend_kind.h"
#include "haproxy/range/range_config.h"
#include "haproxy/update_plan.h"

namespace berth::haproxy {
namespace {

const RangeFiles kFiles = RangeFiles::in("/var/lib/berth");
const RangePolicy kPolicy{.chunk = 4, .min_servers = 2};

// What runs after a start with `desired`.
RangeState started(const Model& desired) {
  auto plan = plan_range_update(std::nullopt, desired, kPolicy, kFiles);
  EXPECT_TRUE(plan.needs_reload());
  EXPECT_TRUE(plan.commands.empty()) << "a start renders everything; nothing is sent";
  return plan.next;
}

std::size_t index_of(const std::vector<std::string>& commands, std::string_view prefix) {
  auto it = std::ranges::find_if(commands, [&](const std::string& c) { return c.starts_with(prefix); });
  return static_cast<std::size_t>(it - commands.begin());
}

TEST(RangePlan, AFreshLayoutHasAChunkOfTheDefaultKindAndRoutesEveryPort) {
  const auto state = started(routed_model({db_listener(20000, {server("10.0.0.7", 3306)})}));
  EXPECT_EQ(state.layout.backends.size(), 4u);
  ASSERT_TRUE(state.routes.contains(20000));
  const Route& route = state.routes.at(20000);
  EXPECT_EQ(route.slots, (Slots{server("10.0.0.7", 3306), std::nullopt}));
  EXPECT_EQ(state.layout.backends.at(route.backend).kind, kind_of(BackendOptions{}));
}

// The plan passes over routes that are as wanted without working out their slots; that test
// must see the servers, not only how many there are.
TEST(RangePlan, ARouteIsLeftAloneOnlyWhenItsSlotsHoldExactlyTheWantedServers) {
  const Server a = server("10.0.0.7", 3306);
  const Server b = server("10.0.0.8", 3306);
  const Model wanted = routed_model({db_listener(20000, {a, b})});
  RangeState state = started(wanted);
  Slots& slots = state.routes.at(20000).slots;
  ASSERT_EQ(slots, (Slots{a, b}));

  std::swap(slots[0], slots[1]);
  EXPECT_TRUE(plan_range_update(state, wanted, kPolicy, kFiles).empty()) << "slot order is HAProxy's business";

  slots = Slots{a, a};  // a server twice (as a running worker could report it), b nowhere
  const auto fixed = plan_range_update(state, wanted, kPolicy, kFiles);
  ASSERT_FALSE(fixed.needs_reload());
  EXPECT_TRUE(std::ranges::any_of(fixed.commands, [](const std::string& c) { return c.find("10.0.0.8") != std::string::npos; }))
      << "b must be given a slot";
  EXPECT_EQ(fixed.next.routes.at(20000).slots.size(), 2u);
  EXPECT_TRUE(std::ranges::count(fixed.next.routes.at(20000).slots, std::optional<Server>(b)) == 1);
}

TEST(RangePlan, ANewPortIsMappedOnlyAfterItsBackendIsReady) {
  const auto state = started(Model{});
  BackendOptions options;
  options.maxconn = 5;
  options.allow_sources = {*Cidr::parse("10.1.0.0/16")};
  auto plan = plan_range_update(state, routed_model({db_listener(20001, {server("10.0.0.7", 3306)}, options)}), kPolicy, kFiles);
  ASSERT_FALSE(plan.needs_reload()) << plan.reload_reasons.front();
  const auto& c = plan.commands;
  const std::string backend = plan.next.routes.at(20001).backend;
  const std::string acl = kFiles.acl_file(backend).string();
  EXPECT_EQ(c.front(), "clear acl " + acl) << "a restricted port's allow-list is set first";
  EXPECT_LT(index_of(c, "add acl " + acl + " 10.1.0.0/16"), index_of(c, "add map /var/lib/berth/ports.map"));
  EXPECT_LT(index_of(c, "set server " + backend + "/s1 state ready"), index_of(c, "add map /var/lib/berth/ports.map"));
  EXPECT_LT(index_of(c, "add map /var/lib/berth/maxconn.map 20001 5"), index_of(c, "add map /var/lib/berth/ports.map"));
  EXPECT_EQ(c.back(), "add map /var/lib/berth/ports.map 20001 " + backend);
  EXPECT_TRUE(plan.touched_backends.contains(backend));
}

TEST(RangePlan, ARemovedPortIsUnmappedAndItsBackendDrains) {
  const auto state = started(routed_model({db_listener(20000, {server("10.0.0.7", 3306)})}));
  const std::string backend = state.routes.at(20000).backend;
  auto plan = plan_range_update(state, Model{}, kPolicy, kFiles);
  ASSERT_FALSE(plan.needs_reload());
  EXPECT_EQ(plan.commands.front(), "del map /var/lib/berth/ports.map 20000") << "new connections close first";
  EXPECT_NE(std::ranges::find(plan.commands, "set server " + backend + "/s1 state maint"), plan.commands.end());
  EXPECT_TRUE(plan.next.draining.contains(backend));
  EXPECT_FALSE(plan.next.free_backends().contains(backend));
}

TEST(RangePlan, AFreeBackendAllowsEverySourceSoOnlyRestrictedPortsSendAclCommands) {
  BackendOptions restricted;
  restricted.allow_sources = {*Cidr::parse("10.1.0.0/16")};
  const auto state = started(routed_model({db_listener(20000, {server("10.0.0.7", 3306)}, restricted)}));
  const std::string backend = state.routes.at(20000).backend;
  const std::string acl = kFiles.acl_file(backend).string();
  auto removed = plan_range_update(state, Model{}, kPolicy, kFiles);
  const auto& c = removed.commands;
  ASSERT_NE(std::ranges::find(c, "clear acl " + acl), c.end()) << "the drained backend must allow every source";
  EXPECT_LT(index_of(c, "del map /var/lib/berth/ports.map"), index_of(c, "clear acl"));
  EXPECT_NE(std::ranges::find(c, "add acl " + acl + " 0.0.0.0/0"), c.end());
  EXPECT_NE(std::ranges::find(c, "add acl " + acl + " ::/0"), c.end());
  auto unrestricted = plan_range_update(state, routed_model({db_listener(20000, {server("10.0.0.7", 3306)}, restricted),
                                                      db_listener(20001, {server("10.0.0.8", 3306)})}),
                                        kPolicy, kFiles);
  EXPECT_EQ(index_of(unrestricted.commands, "clear acl"), unrestricted.commands.size())
      << "a new unrestricted port sends no ACL command";
}

TEST(RangePlan, AnAllowListChangeAddsBeforeItRemoves) {
  BackendOptions before;
  before.allow_sources = {*Cidr::parse("10.1.0.0/16")};
  BackendOptions after;
  after.allow_sources = {*Cidr::parse("10.2.0.0/16")};
  const auto state = started(routed_model({db_listener(20000, {server("10.0.0.7", 3306)}, before)}));
  auto plan = plan_range_update(state, routed_model({db_listener(20000, {server("10.0.0.7", 3306)}, after)}), kPolicy, kFiles);
  const std::string acl = kFiles.acl_file(state.routes.at(20000).backend).string();
  EXPECT_EQ(plan.commands, (std::vector<std::string>{"add acl " + acl + " 10.2.0.0/16", "del acl " + acl + " 10.1.0.0/16"}));
}

TEST(RangePlan, OptionsOfAnotherKindMoveThePortToABackendOfThatKindWithAReloadWhenNoneIsFree) {
  const auto state = started(routed_model({db_listener(20000, {server("10.0.0.7", 3306)})}));
  BackendOptions redis;
  redis.check = CheckKind::kRedis;
  auto plan = plan_range_update(state, routed_model({db_listener(20000, {server("10.0.0.7", 3306)}, redis)}), kPolicy, kFiles);
  ASSERT_TRUE(plan.needs_reload());
  EXPECT_EQ(reload_reason_kind(plan.reload_reasons.front()), "backends_outgrown") << plan.reload_reasons.front();
  const std::string moved_to = plan.next.routes.at(20000).backend;
  EXPECT_EQ(plan.next.layout.backends.at(moved_to).kind, kind_of(redis));
  EXPECT_EQ(plan.next.layout.backends.size(), 8u);
  EXPECT_TRUE(plan.next.draining.empty()) << "a reload's new worker has no sessions to drain";
}

TEST(RangePlan, MoreServersThanSlotsTakeABiggerBackend) {
  const auto state = started(routed_model({db_listener(20000, {server("10.0.0.7", 3306)})}));
  const std::vector<Server> three{server("10.0.0.7", 3306), server("10.0.0.8", 3306), server("10.0.0.9", 3306)};
  auto plan = plan_range_update(state, routed_model({db_listener(20000, three)}), kPolicy, kFiles);
  ASSERT_TRUE(plan.needs_reload());
  const Route& route = plan.next.routes.at(20000);
  EXPECT_EQ(plan.next.layout.backends.at(route.backend).servers, 6u) << "min(2, 3 × growth factor 2)";
  // Grown once, the next port with three servers needs no reload.
  auto next = plan_range_update(plan.next, routed_model({db_listener(20000, three), db_listener(20001, three)}), kPolicy, kFiles);
  EXPECT_FALSE(next.needs_reload());
}

TEST(RangePlan, NothingChangedIsAnEmptyPlan) {
  const Model desired = routed_model({db_listener(20000, {server("10.0.0.7", 3306)})});
  EXPECT_TRUE(plan_range_update(started(desired), desired, kPolicy, kFiles).empty());
}

// Random changes to a few of 40 ports, as a sync loop sees them: each step's desired Model
// differs from the last in the listeners of `changed` only.
struct RandomModels {
  std::mt19937 random{8};
  Model desired;

  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random); }

  std::set<int> step() {
    std::set<int> changed;
    const std::size_t changes = 1 + pick(4);
    for (std::size_t i = 0; i < changes; ++i) {
      const int port = 20000 + static_cast<int>(pick(40));
      changed.insert(port);
      if (pick(4) == 0) {
        desired.listeners.erase(port);
        continue;
      }
      std::vector<Server> servers;
      for (std::size_t n = pick(4); n > 0; --n) servers.push_back(server(fmt::format("10.0.0.{}", 1 + pick(6)), 3306));
      std::ranges::sort(servers);
      servers.erase(std::unique(servers.begin(), servers.end()), servers.end());
      BackendOptions options;
      if (pick(5) == 0) options.check = CheckKind::kRedis;
      if (pick(3) == 0) options.maxconn = static_cast<int>(10 * (1 + pick(3)));
      if (pick(4) == 0) options.allow_sources = {cidr(fmt::format("10.{}.0.0/16", pick(3)))};
      desired.listeners[port] = db_listener(port, servers, options);
    }
    return changed;
  }
};

TEST(RangePlan, APlanOverTheChangedPortsIsTheFullPlanAndUndoneGivesBackWhatRan) {
  RandomModels models;
  models.step();
  RangeState state = started(models.desired);
  for (int i = 0; i < 300; ++i) {
    const std::set<int> changed = models.step();
    const RangePlan full = plan_range_update(state, models.desired, kPolicy, kFiles);
    RangePlan partial = plan_range_update(state, models.desired, kPolicy, kFiles, &changed);
    ASSERT_EQ(partial.next, full.next) << "step " << i;
    ASSERT_EQ(partial.commands, full.commands) << "step " << i;
    ASSERT_EQ(partial.reload_reasons, full.reload_reasons) << "step " << i;
    ASSERT_EQ(partial.touched_backends, full.touched_backends) << "step " << i;
    for (const auto& [port, route] : full.next.routes) {
      auto before = state.routes.find(port);
      if (before == state.routes.end() || before->second != route) {
        EXPECT_TRUE(full.changed_ports.contains(port)) << "step " << i << " port " << port;
      }
    }
    ASSERT_EQ(std::move(partial).undone(), state) << "step " << i;
    state = full.next;
  }
}

TEST(RangeSpans, ThePoolIsSplitAroundHoles) {
  EXPECT_EQ(split_spans({{20000, 20009}, {20100, 20100}}, {19999, 20000, 20005, 20100}),
            (std::vector<PortSpan>{{20001, 20004}, {20006, 20009}}));
  EXPECT_EQ(split_spans({{20000, 20009}}, {}), (std::vector<PortSpan>{{20000, 20009}}));
  RangeLayout layout{.binds = {{20001, 20004}, {20006, 20009}}};
  EXPECT_TRUE(layout.binds_port(20004));
  EXPECT_FALSE(layout.binds_port(20005));
  EXPECT_FALSE(layout.binds_port(20000));
}

TEST(RangeBackendNames, RoundTripAndRejectOthers) {
  const std::string id = kind_id(kind_of(BackendOptions{}));
  EXPECT_EQ(id.size(), 9u);
  auto parsed = parse_range_backend_name(range_backend_name(id, 17));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->kind_id, id);
  EXPECT_EQ(parsed->index, 17);
  for (const char* other : {"p26735", "k1234567_1", "k12345678_0", "k12345678_01", "kzzzzzzzz_1", "k12345678_", "berth_range"}) {
    EXPECT_FALSE(parse_range_backend_name(other)) << other;
  }
  BackendOptions slower;
  slower.timeout_connect = std::chrono::seconds(6);
  EXPECT_NE(kind_id(kind_of(slower)), id);
  slower.maxconn = 9;  // maxconn and allow-sources are per port, not per kind
  slower.allow_sources = {*Cidr::parse("10.0.0.0/8")};
  EXPECT_EQ(kind_of(slower), kind_of([] { BackendOptions o; o.timeout_connect = std::chrono::seconds(6); return o; }()));
}

TEST(RangeConfig, UserValuesNeverReachTheConfigOnlyKindsAndValidatedAddressesDo) {
  BackendOptions options;
  options.check = CheckKind::kPgsql;
  options.check_user = "monitor";
  options.allow_sources = {*Cidr::parse("10.1.0.0/16")};
  options.maxconn = 3;
  const auto state = started(routed_model({db_listener(20000, {server("10.0.0.7", 5432)}, options)}));
  GlobalSettings global{.bind_addresses = {ip("127.0.0.1")}};
  const auto text = render_range_config(global, state, kFiles);
  EXPECT_NE(text.find("option pgsql-check user monitor\n"), std::string::npos) << text;
  EXPECT_NE(text.find("    server s1 10.0.0.7:5432 check\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("10.1.0.0/16"), std::string::npos) << "allow-lists live in ACL files";
  EXPECT_EQ(text.find("maxconn 3"), std::string::npos) << "limits live in maxconn.map";
  EXPECT_EQ(render_range_config(global, state, kFiles), text) << "equal states, equal text";
}

}  // namespace
}  // namespace berth::haproxy
