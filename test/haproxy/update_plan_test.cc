// The diff of two Configs: golden Runtime API commands, and the reload reasons.
#include "haproxy/update_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model_fixtures.h"

namespace berth::haproxy {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

Listener listener(int host_port, std::vector<Server> servers, const char* name = "mysql") {
  Listener l;
  l.host_port = host_port;
  l.service = {"default", name, 3306};
  l.servers = std::move(servers);
  return l;
}

Model model_of(std::vector<Listener> listeners) {
  Model m;
  for (auto& l : listeners) m.listeners[l.host_port] = l;
  return m;
}

const SlotPolicy kPolicy{.min_slots = 2, .growth_factor = 2};

// What runs after a first apply of `m`.
Config running(const Model& m) { return plan_update(std::nullopt, GlobalSettings{}, m, kPolicy).next; }

TEST(SlotTable, FreshSlotsHoldTheServersFirstThenSpares) {
  auto slots = fresh_slots({server("10.0.0.1", 3306), server("10.0.0.2", 3306), server("10.0.0.3", 3306)}, kPolicy);
  ASSERT_EQ(slots.size(), 6u);
  EXPECT_EQ(slots[0], server("10.0.0.1", 3306));
  EXPECT_EQ(slots[2], server("10.0.0.3", 3306));
  EXPECT_FALSE(slots[3]);
  EXPECT_EQ(fresh_slots({}, kPolicy).size(), 2u);
  EXPECT_EQ(SlotPolicy{.min_slots = 4}.slots_for(1), 4u);
}

TEST(SlotTable, StayingServersKeepTheirSlotsAndNewOnesPreferNeverFreedSlots) {
  Slots current = {server("10.0.0.1", 1), server("10.0.0.2", 1), std::nullopt, std::nullopt};
  // .1 goes, .2 stays, .3 arrives: .3 takes slot 2 (never freed), not slot 0 (freed just now).
  auto next = reassign_slots(current, {server("10.0.0.2", 1), server("10.0.0.3", 1)});
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, (Slots{std::nullopt, server("10.0.0.2", 1), server("10.0.0.3", 1), std::nullopt}));
  // A freed slot is reused once the never-freed ones are gone.
  auto full = reassign_slots(*next, {server("10.0.0.2", 1), server("10.0.0.3", 1), server("10.0.0.4", 1),
                                     server("10.0.0.5", 1)});
  ASSERT_TRUE(full);
  EXPECT_EQ(servers_in(*full).size(), 4u);
  EXPECT_EQ((*full)[1], server("10.0.0.2", 1));
  EXPECT_FALSE(reassign_slots(*full, {server("10.0.0.1", 1), server("10.0.0.2", 1), server("10.0.0.3", 1),
                                      server("10.0.0.4", 1), server("10.0.0.5", 1)}))
      << "five servers do not fit four slots";
}

TEST(SlotTable, ADuplicatedServerInAnObservedTableIsKeptOnce) {
  Slots observed = {server("10.0.0.1", 1), server("10.0.0.1", 1), std::nullopt};
  auto next = reassign_slots(observed, {server("10.0.0.1", 1)});
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, (Slots{server("10.0.0.1", 1), std::nullopt, std::nullopt}));
}

TEST(UpdatePlan, NothingRunningMeansAReloadOfEverything) {
  auto plan = plan_update(std::nullopt, GlobalSettings{}, model_of({listener(20000, {server("10.0.0.1", 3306)})}),
                          kPolicy);
  EXPECT_THAT(plan.reload_reasons, ElementsAre("no config is running yet"));
  EXPECT_THAT(plan.runtime_commands, IsEmpty());
  EXPECT_EQ(plan.next.slots.backends.at(20000), (Slots{server("10.0.0.1", 3306), std::nullopt}));
}

TEST(UpdatePlan, AnEqualModelIsAnEmptyPlan) {
  Model m = model_of({listener(20000, {server("10.0.0.1", 3306)}), listener(20001, {})});
  auto plan = plan_update(running(m), GlobalSettings{}, m, kPolicy);
  EXPECT_TRUE(plan.empty());
  EXPECT_EQ(plan.next, running(m));
}

TEST(UpdatePlan, ServerChangesWithinTheSlotsAreExactRuntimeCommands) {
  Model before = model_of({listener(20000, {server("10.0.0.1", 3306)}), listener(20001, {server("fd00::1", 6379)})});
  Model after = model_of(
      {listener(20000, {server("10.0.0.2", 3306)}), listener(20001, {server("fd00::1", 6379), server("fd00::2", 6379)})});
  auto plan = plan_update(running(before), GlobalSettings{}, after, kPolicy);
  EXPECT_FALSE(plan.needs_reload());
  EXPECT_THAT(plan.runtime_commands, ElementsAre("set server p20000/s1 state maint",
                                                 "set server p20000/s2 addr 10.0.0.2 port 3306",
                                                 "set server p20000/s2 state ready",
                                                 "set server p20001/s2 addr fd00::2 port 6379",
                                                 "set server p20001/s2 state ready"));
  EXPECT_EQ(plan.next.model, after);
  EXPECT_EQ(plan.next.slots.backends.at(20000), (Slots{std::nullopt, server("10.0.0.2", 3306)}));
}

TEST(UpdatePlan, EachStructuralChangeIsAReloadWithItsReason) {
  Model base = model_of({listener(20000, {server("10.0.0.1", 3306)}), listener(20001, {})});
  const Config now = running(base);

  Model added = base;
  added.listeners[20002] = listener(20002, {}, "redis");
  EXPECT_THAT(plan_update(now, GlobalSettings{}, added, kPolicy).reload_reasons,
              ElementsAre("listener added p20002 (default/redis:3306)"));

  Model removed = base;
  removed.listeners.erase(20001);
  EXPECT_THAT(plan_update(now, GlobalSettings{}, removed, kPolicy).reload_reasons,
              ElementsAre("listener removed p20001 (default/mysql:3306)"));

  Model options = base;
  options.listeners[20000].options.balance = Balance::kLeastConn;
  EXPECT_THAT(plan_update(now, GlobalSettings{}, options, kPolicy).reload_reasons,
              ElementsAre("options changed p20000 (default/mysql:3306)"));

  Model moved = base;
  moved.listeners[20001].service.name = "other";
  EXPECT_THAT(plan_update(now, GlobalSettings{}, moved, kPolicy).reload_reasons,
              ElementsAre("p20001 now serves p20001 (default/other:3306)"));

  GlobalSettings more_conns;
  more_conns.maxconn = 50000;
  EXPECT_THAT(plan_update(now, more_conns, base, kPolicy).reload_reasons, ElementsAre("global settings changed"));
}

TEST(UpdatePlan, EveryReasonThePlanWritesHasAKindForTheMetricLabel) {
  Model base = model_of({listener(20000, {server("10.0.0.1", 3306)}), listener(20001, {})});
  const Config now = running(base);
  std::vector<std::string> reasons = plan_update(std::nullopt, GlobalSettings{}, base, kPolicy).reload_reasons;
  Model changed = base;
  changed.listeners[20002] = listener(20002, {}, "redis");
  changed.listeners.erase(20001);
  changed.listeners[20000].options.balance = Balance::kLeastConn;
  changed.listeners[20000].servers = {server("10.0.0.1", 3306), server("10.0.0.2", 3306), server("10.0.0.3", 3306)};
  GlobalSettings more_conns;
  more_conns.maxconn = 50000;
  for (auto r : plan_update(now, more_conns, changed, kPolicy).reload_reasons) reasons.push_back(r);
  Model moved = base;
  moved.listeners[20001].service.name = "other";
  for (auto r : plan_update(now, GlobalSettings{}, moved, kPolicy).reload_reasons) reasons.push_back(r);
  std::vector<std::string> kinds;
  for (const auto& r : reasons) kinds.emplace_back(reload_reason_kind(r));
  EXPECT_THAT(kinds, ::testing::UnorderedElementsAre("initial", "global", "listener_added", "listener_removed",
                                                     "options_changed", "slots_outgrown", "service_moved"))
      << ::testing::PrintToString(reasons);
  EXPECT_EQ(reload_reason_kind("the running config is not one berth confirmed"), "unconfirmed");
  EXPECT_EQ(reload_reason_kind("something new"), "other");
}

TEST(UpdatePlan, ABackendOutOfSlotsReloadsAndGrowsWithHeadroomWhileOthersKeepTheirSlots) {
  Model before = model_of({listener(20000, {server("10.0.0.1", 3306)}), listener(20001, {server("10.0.1.1", 1)})});
  Config now = running(before);
  // Move 20001's server into slot 2 at run time, so its layout is no longer the fresh one.
  Model step = before;
  step.listeners[20001].servers = {server("10.0.1.2", 1)};
  now = plan_update(now, GlobalSettings{}, step, kPolicy).next;
  ASSERT_EQ(now.slots.backends.at(20001), (Slots{std::nullopt, server("10.0.1.2", 1)}));

  Model after = step;
  after.listeners[20000].servers = {server("10.0.0.1", 3306), server("10.0.0.2", 3306), server("10.0.0.3", 3306)};
  auto plan = plan_update(now, GlobalSettings{}, after, kPolicy);
  EXPECT_THAT(plan.reload_reasons, ElementsAre("p20000 (default/mysql:3306) needs 3 server slots, has 2"));
  EXPECT_THAT(plan.runtime_commands, IsEmpty()) << "a reload renders every server";
  EXPECT_EQ(plan.next.slots.backends.at(20000).size(), 6u);
  EXPECT_EQ(plan.next.slots.backends.at(20001), now.slots.backends.at(20001)) << "untouched backends keep their slots";
}

}  // namespace
}  // namespace berth::haproxy
