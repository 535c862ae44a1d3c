// Range mode (--listen-mode=range) as users run it: kube-sim, the berth binary, the HAProxy it
// starts and TCP echo servers standing in for databases. The acceptance: Services come
// and go with no reload and no failed connection while sessions are held; a reload or restart
// of HAProxy keeps every port routed; an unmapped port closes at once; an excluded or busy port
// is never bound.
//
// Host ports 18000-19499 (docs/development.md): the churn test's pool is 18000-19099 (1,000
// creations, each port quarantined after its Service goes), the others 100-port blocks above
// (19100-19499).
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/atomic_file.h"
#include "e2e/dataplane_cluster.h"
#include "haproxy/haproxy_test_env.h"
#include "support/echo_server.h"
#include "support/eventually.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

std::string greeting_or_error(int port) {
  auto g = greeting_at("127.0.0.1", port, 2s);
  return g ? *g : "error: " + g.error().describe();
}

// Whether a connection to `port` is accepted and closed without a greeting: what a bound port
// with no Service does (not refused, which would mean nothing listens; not a timeout).
bool closes_at_once(int port) {
  const std::string outcome = greeting_or_error(port);
  return outcome.starts_with("error") && outcome.find("refused") == std::string::npos &&
         outcome.find("Timeout") == std::string::npos;
}

nlohmann::json slice_for(const std::string& service, const std::string& address, const EchoServer& server) {
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata", {{"name", service + "-1"}, {"labels", {{"kubernetes.io/service-name", service}}}}},
          {"addressType", "IPv4"},
          {"ports", {{{"name", "p3306"}, {"port", server.port()}, {"protocol", "TCP"}}}},
          {"endpoints", {{{"addresses", {address}}, {"conditions", {{"ready", true}}}}}}};
}

DataplaneClusterOptions range_mode(int first, int last, std::map<std::string, std::string> flags = {}) {
  flags["--listen-mode"] = "range";
  return DataplaneClusterOptions{.port_ranges = {{first, last}}, .flags = std::move(flags)};
}

Result<void> expose(DataplaneCluster& c, const std::string& name, const std::string& address, const EchoServer& server) {
  auto& api = c.kube().api();
  if (auto made = api.create(kube::kServices, "default", marked_service(name, {3306})); !made) {
    return std::unexpected(made.error());
  }
  if (auto made = api.create(kube::kEndpointSlices, "default", slice_for(name, address, server)); !made) {
    return std::unexpected(made.error());
  }
  return {};
}

TEST(RangeModeKubeSim, AThousandServicesComeAndGoWithNoReloadWhileSessionsAreHeld) {
  EchoServer held_db("held", "127.0.0.2");
  EchoServer churn_db("churn", "127.0.0.3");
  ASSERT_TRUE(held_db.ok() && churn_db.ok());
  DataplaneCluster c(range_mode(18000, 19099));
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(expose(c, "held", "127.0.0.2", held_db));
  auto held_port = c.wait_for_host_port("held", 3306);
  ASSERT_TRUE(held_port);
  ASSERT_TRUE(eventually([&] { return greeting_or_error(*held_port) == "held"; }, kWait)) << c.berth().log();

  std::vector<std::unique_ptr<TcpClient>> sessions;
  for (int i = 0; i < 200; ++i) {
    auto s = session_with("127.0.0.1", *held_port, "held", 2s);
    ASSERT_TRUE(s) << s.error().describe();
    sessions.push_back(std::move(*s));
  }
  // New connections to the held Service all along, bounded in count and time.
  std::atomic<bool> stop{false};
  std::atomic<int> attempts{0}, failures{0};
  std::string first_failure;
  std::jthread prober([&] {
    for (int i = 0; i < 100000 && !stop.load(); ++i) {
      ++attempts;
      auto g = greeting_at("127.0.0.1", *held_port, 2s);
      if ((!g || *g != "held") && failures++ == 0) first_failure = g ? *g : g.error().describe();
    }
  });

  // 20 waves: 50 Services created, each served, then all 50 deleted and each closed.
  constexpr int kWaves = 20, kPerWave = 50;
  int served = 0, closed = 0;
  std::string last_problem;
  for (int wave = 0; wave < kWaves; ++wave) {
    std::vector<std::string> names;
    for (int i = 0; i < kPerWave; ++i) {
      names.push_back(fmt::format("churn-{}-{}", wave, i));
      ASSERT_TRUE(expose(c, names.back(), "127.0.0.3", churn_db));
    }
    std::vector<int> ports;
    for (const auto& name : names) {
      auto port = c.wait_for_host_port(name, 3306);
      ASSERT_TRUE(port) << name << " got no host port";
      ports.push_back(*port);
    }
    for (int port : ports) {
      if (eventually([&] { return greeting_or_error(port) == "churn"; }, kWait)) {
        ++served;
      } else {
        last_problem = fmt::format("port {} never served: {}", port, greeting_or_error(port));
      }
    }
    for (const auto& name : names) ASSERT_TRUE(c.kube().api().remove(kube::kServices, "default", name));
    for (int port : ports) {
      if (eventually([&] { return closes_at_once(port); }, kWait)) {
        ++closed;
      } else {
        last_problem = fmt::format("port {} still served after its Service went", port);
      }
    }
  }
  stop = true;
  prober.join();
  c.watch();

  EXPECT_EQ(served, kWaves * kPerWave) << last_problem;
  EXPECT_EQ(closed, kWaves * kPerWave) << last_problem;
  EXPECT_EQ(c.reloads(), 0u) << "range mode reloaded HAProxy:\n" << c.berth().log();
  EXPECT_EQ(failures.load(), 0) << "of " << attempts.load() << " new connections; first: " << first_failure;
  EXPECT_GT(attempts.load(), 100);
  auto table = c.haproxy_status();
  ASSERT_TRUE(table) << table.error().describe();
  EXPECT_TRUE(table->old_workers().empty()) << "old workers linger";
  int alive = 0;
  for (auto& s : sessions) alive += s->round_trip("still here", 2s) ? 1 : 0;
  EXPECT_EQ(alive, 200) << "held sessions cut";
}

TEST(RangeModeKubeSim, AReloadOrARestartOfHaproxyKeepsEveryPortRoutedRight) {
  EchoServer a("a", "127.0.0.2");
  EchoServer b("b", "127.0.0.3");
  ASSERT_TRUE(a.ok() && b.ok());
  DataplaneCluster c(range_mode(19100, 19199));
  ASSERT_TRUE(c.start()) << c.berth().log();
  std::map<int, std::string> expected;  // host port → the echo server it must reach
  for (int i = 0; i < 20; ++i) {
    const std::string name = fmt::format("db-{}", i);
    ASSERT_TRUE(expose(c, name, i % 2 ? "127.0.0.3" : "127.0.0.2", i % 2 ? b : a));
    auto port = c.wait_for_host_port(name, 3306);
    ASSERT_TRUE(port);
    expected[*port] = i % 2 ? "b" : "a";
  }
  auto all_routed = [&] {
    return std::ranges::all_of(expected, [](const auto& entry) { return greeting_or_error(entry.first) == entry.second; });
  };
  ASSERT_TRUE(eventually(all_routed, kWait)) << c.berth().log();
  int unmapped = 19100;
  while (expected.contains(unmapped)) ++unmapped;
  EXPECT_TRUE(closes_at_once(unmapped)) << "an unmapped port must close at once: " << greeting_or_error(unmapped);

  // An operator's reload, straight to the master: HAProxy reads the files berth keeps. Those
  // lag the Runtime API by the moments berth spends writing them after a change, so the test
  // waits for them, as an operator's reload would most likely come long after (a reload inside
  // that window is set right at berth's next apply: RangeDriverTest covers it).
  const auto ports_map = c.config_path().parent_path() / "ports.map";
  ASSERT_TRUE(eventually([&] {
    const auto text = read_whole_file(ports_map).value_or("");
    return std::ranges::all_of(expected, [&](const auto& entry) {
      return text.find(fmt::format("{} ", entry.first)) != std::string::npos;
    });
  }, kWait));
  haproxy::MasterSocket master(c.master_socket_path(), 5s);
  ASSERT_TRUE(master.to_master("reload"));
  c.watch();
  ASSERT_TRUE(eventually([&] {
    auto table = c.haproxy_status();
    return table && table->master.reloads >= 1 && table->old_workers().empty();
  }, kWait));
  for (const auto& [port, name] : expected) {
    EXPECT_EQ(greeting_or_error(port), name) << "after a reload, port " << port << "\nports.map:\n"
                                             << read_whole_file(c.config_path().parent_path() / "ports.map").value_or("")
                                             << "\nberth's log:\n" << c.berth().log();
  }

  // A restart: HAProxy is killed and berth starts it again.
  ASSERT_TRUE(c.stop_haproxy());
  ASSERT_TRUE(c.berth().wait_for_log("haproxy started", kWait, 2)) << c.berth().log();
  c.watch();
  ASSERT_TRUE(eventually(all_routed, kWait)) << c.berth().log();
  EXPECT_TRUE(closes_at_once(unmapped)) << greeting_or_error(unmapped);
}

// Range mode applies at once (no gather delay), so a Service's first sync may run before the
// allocator has written its host port. The allocator stores its write in the cache before the
// watch event for it arrives, and that event then changes nothing: the data plane must hear of
// the port from the allocator, not from the periodic check (ten minutes here), or from the
// EndpointSlice (created first here, so no later event comes from it).
TEST(RangeModeKubeSim, ANewServiceIsServedAsSoonAsItsPortIsAllocatedNotAtTheNextPeriodicCheck) {
  EchoServer db("db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  DataplaneCluster c(range_mode(19300, 19399, {{"--gather-delay", "0s"}, {"--haproxy-check-period", "10m"}}));
  ASSERT_TRUE(c.start()) << c.berth().log();
  auto& api = c.kube().api();
  for (int i = 0; i < 5; ++i) {
    const std::string name = fmt::format("late-{}", i);
    ASSERT_TRUE(api.create(kube::kEndpointSlices, "default", slice_for(name, "127.0.0.2", db)));
    ASSERT_TRUE(api.create(kube::kServices, "default", marked_service(name, {3306})));
    auto port = c.wait_for_host_port(name, 3306);
    ASSERT_TRUE(port) << c.berth().log();
    EXPECT_TRUE(eventually([&] { return greeting_or_error(*port) == "db"; }, kWait))
        << name << " on " << *port << ": " << greeting_or_error(*port) << "\n" << c.berth().log();
  }
}

TEST(RangeModeKubeSim, AnExcludedOrBusyPortIsNeverBound) {
  EchoServer db("db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  haproxy::testenv::PortHolder busy(19250);
  ASSERT_TRUE(busy.ok());
  DataplaneCluster c(DataplaneClusterOptions{.port_ranges = {{19200, 19299}},
                                             .flags = {{"--listen-mode", "range"}, {"--exclude-ports", "19260"}}});
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(expose(c, "db", "127.0.0.2", db));
  auto port = c.wait_for_host_port("db", 3306);
  ASSERT_TRUE(port);
  ASSERT_TRUE(eventually([&] { return greeting_or_error(*port) == "db"; }, kWait)) << c.berth().log();
  const auto config = read_whole_file(c.config_path()).value_or("");
  EXPECT_NE(config.find("bind 127.0.0.1:19200-19249\n"), std::string::npos) << config;
  EXPECT_NE(config.find("bind 127.0.0.1:19251-19259\n"), std::string::npos) << config;
  EXPECT_NE(config.find("bind 127.0.0.1:19261-19299\n"), std::string::npos) << config;
  // Nothing listens on the excluded port; the busy one is still the holder's alone.
  EXPECT_TRUE(greeting_or_error(19260).find("refused") != std::string::npos) << greeting_or_error(19260);
  auto to_holder = TcpClient::connect("127.0.0.1", 19250, 2s);
  EXPECT_TRUE(to_holder) << "the holder's port stopped accepting";
}

// Range mode is the default, so upgrading a berth that ran the per-port mode switches modes, and
// going back is the same step the other way: berth adopts the HAProxy that runs and reloads it
// once, hitlessly. The sessions stay with the old worker, every port keeps routing to its
// Service, and in range mode the next Service needs no reload.
TEST(RangeModeKubeSim, SwitchingListenModesIsOneHitlessReloadEachWay) {
  EchoServer db("db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  DataplaneCluster c(DataplaneClusterOptions{.port_ranges = {{19400, 19409}}, .flags = {{"--listen-mode", "port"}}});
  ASSERT_TRUE(c.start()) << c.berth().log();
  std::vector<int> ports;
  for (const std::string name : {"db-0", "db-1"}) {
    ASSERT_TRUE(expose(c, name, "127.0.0.2", db));
    auto port = c.wait_for_host_port(name, 3306);
    ASSERT_TRUE(port);
    ports.push_back(*port);
  }
  ASSERT_TRUE(c.wait_for_applied(2)) << c.berth().log();
  std::vector<std::unique_ptr<TcpClient>> sessions;
  for (int port : ports) {
    for (int i = 0; i < 3; ++i) {
      auto session = TcpClient::connect("127.0.0.1", port, 2s);
      ASSERT_TRUE(session) << session.error().describe();
      ASSERT_EQ((*session)->read_line(2s).value_or(""), "db");
      sessions.push_back(std::move(*session));
    }
  }
  const auto before = c.haproxy_status();
  ASSERT_TRUE(before);

  for (const std::string mode : {"range", "port"}) {
    SCOPED_TRACE("switched to " + mode);
    ASSERT_EQ(c.berth().stop().value_or(-1), 0) << c.berth().log();
    const std::size_t reloads = c.reloads();
    c.berth().set_arg("--listen-mode", mode);
    ASSERT_TRUE(c.berth().start());
    ASSERT_TRUE(c.berth().wait_for_log("haproxy reloaded", kWait, reloads + 1)) << c.berth().log();
    c.watch();
    for (int port : ports) {
      EXPECT_TRUE(eventually([&] { return greeting_or_error(port) == "db"; }, kWait))
          << port << ": " << greeting_or_error(port) << "\n" << c.berth().log();
    }
    const std::string added = "db-" + mode;
    ASSERT_TRUE(expose(c, added, "127.0.0.2", db));
    auto port = c.wait_for_host_port(added, 3306);
    ASSERT_TRUE(port);
    EXPECT_TRUE(eventually([&] { return greeting_or_error(*port) == "db"; }, kWait)) << c.berth().log();
    if (mode == "range") {
      EXPECT_EQ(c.reloads(), reloads + 1) << "range mode serves a new Service with no reload";
    }
    ports.push_back(*port);
    int alive = 0;
    for (auto& session : sessions) alive += session->round_trip("still there?", 2s) ? 1 : 0;
    EXPECT_EQ(alive, 6) << "a held session was cut";
  }
  const auto after = c.haproxy_status();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->master.pid, before->master.pid) << "HAProxy was restarted, not reloaded";
}

}  // namespace
}  // namespace berth::testing
