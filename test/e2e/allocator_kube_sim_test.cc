// The allocator as users run it: the berth binary against a real kube-sim, Services created
// by concurrent clients, berth killed with SIGKILL, two replicas electing a leader.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "support/allocation_checks.h"
#include "kube/resource.h"
#include "support/berth_process.h"
#include "support/kube_sim_cluster.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kFirstPort = 20000;
constexpr int kLastPort = 29999;

std::vector<std::string> berth_args(KubeSimCluster& cluster, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"--kubeconfig", cluster.sim().kubeconfig_path().string(),
                                   "--port-range",  "20000-29999",
                                   "--kube-api-qps", "500",
                                   "--kube-api-burst", "500",
                                   // The allocator alone: these tests check allocations.
                                   "--dataplane=none"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

// Creates services name-0 .. name-(n-1) from `threads` clients at once; service i has 1 or 2
// TCP ports.
void create_concurrently(KubeSimCluster& cluster, const std::string& name, int n, int threads) {
  std::atomic<int> next{0}, failures{0};
  std::vector<std::jthread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      auto client = cluster.connect({.qps = 0, .burst = 1});
      for (int i = next++; i < n; i = next++) {
        std::vector<int> ports = {3306};
        if (i % 3 == 0) ports.push_back(33060);
        if (!client->api().create(kube::kServices, "default", marked_service(name + "-" + std::to_string(i), ports))) {
          ++failures;
        }
      }
    });
  }
  workers.clear();
  EXPECT_EQ(failures.load(), 0);
}

std::map<std::string, ServiceAllocations> read_or_fail(KubeSimCluster& cluster) {
  auto all = read_allocations(cluster.api());
  EXPECT_TRUE(all) << all.error().describe();
  return all ? *all : std::map<std::string, ServiceAllocations>{};
}

bool converged(KubeSimCluster& cluster, std::vector<std::string>* last_problems = nullptr) {
  auto all = read_allocations(cluster.api());
  if (!all) return false;
  auto problems = allocation_violations(*all, kFirstPort, kLastPort);
  if (last_problems) *last_problems = problems;
  return problems.empty();
}

std::string first_lines(const std::vector<std::string>& lines, std::size_t n = 10) {
  std::string out;
  for (std::size_t i = 0; i < lines.size() && i < n; ++i) out += lines[i] + "\n";
  return out;
}

TEST(AllocatorKubeSim, ThousandConcurrentServicesSurviveASigkillMidBurstWithUniquePorts) {
  KubeSimCluster cluster;
  ASSERT_TRUE(cluster.ready()) << cluster.error();
  BerthProcess berth(berth_args(cluster));
  ASSERT_TRUE(berth.start());
  ASSERT_TRUE(berth.wait_for_log("port pool rebuilt", 60s)) << berth.log();

  // SIGKILL berth once it has written ~300 allocations, while clients keep creating.
  std::atomic<bool> killed{false};
  std::map<std::string, ServiceAllocations> before_kill;
  std::jthread killer([&](std::stop_token stop) {
    while (!stop.stop_requested() && berth.count_in_log("allocated service=") < 300) {
      std::this_thread::sleep_for(10ms);  // polling berth's log file; bounded by the burst below
    }
    if (stop.stop_requested()) return;
    berth.kill();
    before_kill = read_or_fail(cluster);
    killed = true;
  });
  create_concurrently(cluster, "db", 1000, 8);
  ASSERT_TRUE(eventually([&] { return killed.load(); }, 120s)) << "berth never reached 300 allocations\n"
                                                                   << berth.log().substr(0, 4000);
  killer.join();
  ASSERT_TRUE(berth.start());

  std::vector<std::string> problems;
  EXPECT_TRUE(eventually([&] { return converged(cluster, &problems); }, 180s)) << first_lines(problems);
  auto after = read_or_fail(cluster);
  EXPECT_EQ(after.size(), 1000u);
  std::size_t kept = 0;
  for (const auto& [key, s] : before_kill) {
    for (const auto& [k, v] : s.allocations) {
      EXPECT_EQ(after[key].allocations[k], v) << key << " " << k << " changed across the restart";
      ++kept;
    }
  }
  EXPECT_GE(kept, 300u);
  EXPECT_EQ(berth.count_in_log("PortConflict"), 0u) << "no Service may have claimed another's port";
  EXPECT_EQ(berth.count_in_log("port pool rebuilt"), 2u);
  auto code = berth.stop();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 0);
}

TEST(AllocatorKubeSim, DeletedServicesPortComesBackOnlyAfterTheQuarantineEvenAcrossARestart) {
  KubeSimCluster cluster;
  ASSERT_TRUE(cluster.ready()) << cluster.error();
  auto args = berth_args(cluster, {"--port-quarantine", "3s"});
  args[3] = "20000-20001";  // --port-range: two ports
  BerthProcess berth(args);
  ASSERT_TRUE(berth.start());
  ASSERT_TRUE(cluster.api().create(kube::kServices, "default", marked_service("a", {3306})));
  ASSERT_TRUE(cluster.api().create(kube::kServices, "default", marked_service("b", {3306})));
  ASSERT_TRUE(eventually([&] { return converged(cluster); }, 60s)) << berth.log();
  auto before = read_or_fail(cluster);
  const std::string a_port = before["default/a"].allocations["haproxy-ingress/3306"];

  ASSERT_TRUE(cluster.api().remove(kube::kServices, "default", "a"));
  const auto deleted_at = std::chrono::steady_clock::now();
  // Once the quarantine is on the Lease, a crash must not forget it.
  ASSERT_TRUE(eventually(
      [&] {
        auto lease = cluster.api().get(kube::kLeases, "default", "berth-quarantine");
        return lease && (*lease)["metadata"]["annotations"].value("haproxy-ingress/quarantine", "").find(
                            "\"" + a_port + "\"") != std::string::npos;
      },
      30s))
      << berth.log();
  berth.kill();
  ASSERT_TRUE(berth.start());
  ASSERT_TRUE(cluster.api().create(kube::kServices, "default", marked_service("c", {3306})));

  std::string c_port;
  ASSERT_TRUE(eventually(
      [&] {
        auto all = read_allocations(cluster.api());
        if (!all) return false;
        c_port = (*all)["default/c"].allocations["haproxy-ingress/3306"];
        return !c_port.empty();
      },
      60s))
      << berth.log();
  const auto waited = std::chrono::steady_clock::now() - deleted_at;
  EXPECT_EQ(c_port, a_port) << "the only free port once the quarantine is over";
  EXPECT_GE(waited, 3s) << "the port came back before its quarantine ended";
  EXPECT_GE(berth.count_in_log("PoolExhausted"), 1u);
  auto events = cluster.api().list(kube::kEvents, "default", {});
  ASSERT_TRUE(events);
  bool exhausted_event = false;
  for (const auto& e : events->items) {
    exhausted_event |= e.value("reason", "") == "PoolExhausted" && e["involvedObject"].value("name", "") == "c";
  }
  EXPECT_TRUE(exhausted_event);
}

TEST(AllocatorKubeSim, TwoReplicasOnlyTheLeaderWritesAndTheStandbyTakesOverAfterASigkill) {
  KubeSimCluster cluster;
  ASSERT_TRUE(cluster.ready()) << cluster.error();
  BerthProcess first(berth_args(cluster, {"--leader-elect"}));
  BerthProcess second(berth_args(cluster, {"--leader-elect"}));
  ASSERT_TRUE(first.start());
  ASSERT_TRUE(first.wait_for_log("port pool rebuilt", 60s)) << first.log();
  ASSERT_TRUE(second.start());
  ASSERT_TRUE(second.wait_for_log("caches synced", 60s)) << second.log();

  create_concurrently(cluster, "db", 50, 4);
  std::vector<std::string> problems;
  ASSERT_TRUE(eventually([&] { return converged(cluster, &problems); }, 60s)) << first_lines(problems);
  EXPECT_EQ(second.count_in_log("allocated service="), 0u) << "only the leader writes";
  EXPECT_EQ(second.count_in_log("port pool rebuilt"), 0u);
  auto before = read_or_fail(cluster);

  first.kill();
  const auto killed_at = std::chrono::steady_clock::now();
  create_concurrently(cluster, "late", 20, 2);
  ASSERT_TRUE(eventually([&] { return converged(cluster, &problems); }, 60s)) << first_lines(problems)
                                                                              << second.log();
  const auto takeover = std::chrono::steady_clock::now() - killed_at;
  // The Lease runs out 15 s after the last renewal; the standby retries every 2 s.
  EXPECT_LE(takeover, 20s);
  RecordProperty("takeover_ms", std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(takeover).count()));
  auto after = read_or_fail(cluster);
  for (const auto& [key, s] : before) EXPECT_EQ(after[key].allocations, s.allocations) << key;
  EXPECT_EQ(second.count_in_log("port pool rebuilt"), 1u);
}

}  // namespace
}  // namespace berth::testing
