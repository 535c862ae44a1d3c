// ServingStatusTracker: the status kept up to date port by port must always be the status made
// from nothing, whatever the builds in between changed.
#include "dataplane/serving_status_tracker.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

namespace berth::dataplane {
namespace {

using TrackedServicePtr = kube::Store<kube::Service>::Ptr;

TrackedServicePtr tracked_service(int id, int version, std::optional<int> host_port) {
  auto s = std::make_shared<kube::Service>();
  s->meta.namespace_ = "team";
  s->meta.name = fmt::format("db{}", id);
  s->meta.uid = fmt::format("uid-{}", id);
  s->meta.resource_version = std::to_string(version);
  s->meta.creation_timestamp = fmt::format("2026-01-01T00:00:{:02}Z", id);
  s->meta.annotations = {{"ingress", "haproxy-ingress"}};
  if (host_port) s->meta.annotations["haproxy-ingress/3306"] = std::to_string(*host_port);
  s->ports = {kube::ServicePort{.name = "mysql", .port = 3306, .target_port = {std::int32_t{3306}}}};
  s->cluster_ip = fmt::format("10.96.0.{}", id + 1);
  return s;
}

TEST(ServingStatusTracker, KeptUpToDatePortByPortItIsTheStatusMadeFromNothing) {
  const ModelBuilder builder(controller::AnnotationConfig{}, *ports::PortRangeSet::parse("20000-20099"));
  std::mt19937 random(77);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(random); };
  std::map<int, TrackedServicePtr> services;  // by id
  std::set<int> pending;                      // host ports HAProxy does not serve yet
  std::set<int> warned;                       // host ports with an outcome Warning
  auto state_of = [&](int port) -> std::pair<ServedPort::State, std::string> {
    if (warned.contains(port)) return {ServedPort::State::kNotServed, "PortUnavailable: held"};
    if (pending.contains(port)) return {ServedPort::State::kPending, "not applied to HAProxy yet"};
    return {ServedPort::State::kServing, ""};
  };
  ServingStatusTracker kept;
  std::set<int> warned_before;
  for (int step = 0; step < 400; ++step) {
    // A few Services change: new, moved (often onto another's port: an older claim keeps it),
    // without a port, or gone.
    for (int i = 1 + pick(3); i > 0; --i) {
      const int id = pick(30);
      switch (pick(4)) {
        case 0: services.erase(id); break;
        case 1: services[id] = tracked_service(id, step + 1, std::nullopt); break;
        default: services[id] = tracked_service(id, step + 1, 20000 + pick(25)); break;
      }
    }
    std::vector<TrackedServicePtr> list;
    for (const auto& [id, s] : services) list.push_back(s);
    const auto built = builder.build(list, {}, {});
    // What HAProxy does between two updates changes only on the ports the caller names: those
    // the build changed (applied now, or pending) and those whose Warning came or went.
    pending.clear();
    if (built->changed_ports && pick(3) == 0) pending = *built->changed_ports;
    warned.clear();
    if (pick(5) == 0 && !built->model.listeners.empty()) warned.insert(built->model.listeners.begin()->first);
    std::set<int> recheck = warned;
    recheck.insert(warned_before.begin(), warned_before.end());
    kept.update(*built, pick(10) == 0 ? std::nullopt : built->changed_ports, recheck, state_of);
    warned_before = warned;

    ServingStatusTracker fresh;
    fresh.update(*built, std::nullopt, {}, state_of);
    ASSERT_EQ(kept.snapshot()->ports, fresh.snapshot()->ports) << "step " << step;
    ASSERT_EQ(kept.snapshot()->ports.size(), built->model.listeners.size() + built->unserved.size());
  }
}

TEST(ServingStatusTracker, ASnapshotIsMadeOncePerUpdateAndNeverChangesUnderItsHolder) {
  const ModelBuilder builder(controller::AnnotationConfig{}, *ports::PortRangeSet::parse("20000-20099"));
  ServingStatusTracker tracker;
  EXPECT_TRUE(tracker.snapshot()->ports.empty());
  auto serving = [](int) { return std::pair{ServedPort::State::kServing, std::string()}; };
  auto built = builder.build({tracked_service(1, 1, 20001)}, {}, {});
  tracker.update(*built, built->changed_ports, {}, serving);
  const auto first = tracker.snapshot();
  EXPECT_EQ(tracker.snapshot(), first) << "no update since: the same snapshot";
  ASSERT_EQ(first->ports.size(), 1u);
  EXPECT_EQ(first->ports[0].host_port, 20001);

  built.reset();  // released, so the next build patches its result
  built = builder.build({tracked_service(1, 2, 20002)}, {}, {});
  tracker.update(*built, built->changed_ports, {}, serving);
  EXPECT_EQ(first->ports[0].host_port, 20001) << "a snapshot held stays as it was";
  EXPECT_EQ(tracker.snapshot()->ports.at(0).host_port, 20002);
}

}  // namespace
}  // namespace berth::dataplane
