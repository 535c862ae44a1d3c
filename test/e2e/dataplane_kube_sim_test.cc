// The data plane as users run it: kube-sim, the berth binary, the HAProxy it starts, TCP echo
// servers standing in for databases on loopback addresses, objects made with kubectl.
//
// Each test uses its own block of 100 host ports (ctest runs tests in parallel), below the
// kernel's ephemeral range (32768+), so no outgoing connection can hold one.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "common/atomic_file.h"
#include "e2e/dataplane_cluster.h"
#include "haproxy/config_renderer.h"
#include "support/echo_server.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

std::string greeting_or_error(int port, const std::string& address = "127.0.0.1") {
  auto g = greeting_at(address, port, 2s);
  return g ? *g : "error: " + g.error().describe();
}

bool greets(int port, const std::string& name, const std::string& address = "127.0.0.1") {
  return greeting_or_error(port, address) == name;
}

TEST(DataplaneKubeSim, AnAllocatedPortReachesTheServiceEndpoint) {
  EchoServer db("db-a", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  DataplaneCluster c(30000);
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("db-a", 3306) + slice_yaml("db-a-1", "db-a", {"127.0.0.2"}, db.port())));
  auto port = c.wait_for_host_port("db-a", 3306);
  ASSERT_TRUE(port) << c.berth().log();
  ASSERT_TRUE(eventually([&] { return greets(*port, "db-a"); }, kWait))
      << greeting_or_error(*port) << "\n" << c.berth().log();
  auto client = TcpClient::connect("127.0.0.1", *port, 2s);
  ASSERT_TRUE(client);
  ASSERT_EQ(*(*client)->read_line(2s), "db-a");
  EXPECT_TRUE((*client)->round_trip("SELECT 1", 2s));
}

TEST(DataplaneKubeSim, IPv6EndpointsAndBindsServeBesideIPv4) {
  EchoServer v6_pod("v6-pod", "::1");
  EchoServer v4_pod("v4-pod", "127.0.0.2");
  ASSERT_TRUE(v6_pod.ok() && v4_pod.ok());
  DataplaneCluster c(30900, {"--bind-address", "::1"});  // beside the cluster's 127.0.0.1
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("six", 6379) + slice_yaml("six-1", "six", {"::1"}, v6_pod.port(), "IPv6") +
                              service_yaml("four", 3306) + slice_yaml("four-1", "four", {"127.0.0.2"}, v4_pod.port())));
  auto six = c.wait_for_host_port("six", 6379);
  auto four = c.wait_for_host_port("four", 3306);
  ASSERT_TRUE(six && four);
  // Every host port listens on both bind addresses, whatever the family of its endpoints.
  EXPECT_TRUE(eventually([&] { return greets(*six, "v6-pod", "::1") && greets(*six, "v6-pod"); }, kWait))
      << greeting_or_error(*six, "::1") << "\n" << c.berth().log();
  // The two Services may be allocated apart and served by two reloads: wait for the second too.
  EXPECT_TRUE(eventually([&] { return greets(*four, "v4-pod", "::1") && greets(*four, "v4-pod"); }, kWait))
      << greeting_or_error(*four, "::1") << "\n" << c.berth().log();
  auto config = read_whole_file(c.config_path());
  ASSERT_TRUE(config);
  EXPECT_NE(config->find(fmt::format("bind [::1]:{} v6only", *six)), std::string::npos) << *config;
  EXPECT_NE(config->find(fmt::format("[::1]:{}", v6_pod.port())), std::string::npos) << *config;
}

TEST(DataplaneKubeSim, HeldSessionsSurviveFiftyReloadsAndNewConnectionsNeverFail) {
  EchoServer db("held", "127.0.0.2");
  EchoServer other("other", "127.0.0.3");
  ASSERT_TRUE(db.ok() && other.ok());
  DataplaneCluster c(30100);
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("held", 3306) + slice_yaml("held-1", "held", {"127.0.0.2"}, db.port())));
  auto port = c.wait_for_host_port("held", 3306);
  ASSERT_TRUE(port);
  ASSERT_TRUE(eventually([&] { return greets(*port, "held"); }, kWait)) << c.berth().log();

  std::vector<std::unique_ptr<TcpClient>> sessions;
  for (int i = 0; i < 100; ++i) {
    auto s = TcpClient::connect("127.0.0.1", *port, 2s);
    ASSERT_TRUE(s) << s.error().describe();
    ASSERT_EQ(*(*s)->read_line(2s), "held");
    sessions.push_back(std::move(*s));
  }

  // New connections all along, bounded in count and time.
  std::atomic<bool> stop{false};
  std::atomic<int> attempts{0}, failures{0};
  std::string first_failure;
  std::jthread prober([&] {
    for (int i = 0; i < 20000 && !stop.load(); ++i) {
      ++attempts;
      auto g = greeting_at("127.0.0.1", *port, 2s);
      if (!g || *g != "held") {
        if (failures++ == 0) first_failure = g ? *g : g.error().describe();
      }
    }
  });

  // Each add or remove of another Service is one more listener, so one reload.
  ASSERT_TRUE(c.wait_for_applied(1));
  const std::size_t reloads_before = c.reloads();
  for (int i = 0; i < 50; ++i) {
    const std::string name = "churn-" + std::to_string(i / 2);
    if (i % 2 == 0) {
      ASSERT_TRUE(c.kube().api().create(kube::kServices, "default", marked_service(name, {6379})));
    } else {
      ASSERT_TRUE(c.kube().api().remove(kube::kServices, "default", name));
    }
    ASSERT_TRUE(c.berth().wait_for_log("haproxy reloaded", kWait, reloads_before + i + 1)) << c.berth().log();
  }
  stop = true;
  prober.join();
  c.watch();

  EXPECT_GE(c.reloads() - reloads_before, 50u);
  EXPECT_EQ(failures.load(), 0) << "of " << attempts.load() << " new connections; first: " << first_failure;
  EXPECT_GT(attempts.load(), 100);
  int alive = 0;
  for (auto& s : sessions) alive += s->round_trip("still here", 2s) ? 1 : 0;
  EXPECT_EQ(alive, 100) << "held sessions cut by the reloads";
}

TEST(DataplaneKubeSim, AnEndpointChangeIsAppliedWithoutAReload) {
  EchoServer old_pod("old", "127.0.0.2");
  EchoServer new_pod("new", "127.0.0.3");
  ASSERT_TRUE(old_pod.ok() && new_pod.ok());
  // The same port on both addresses, as pods of one Deployment have.
  ASSERT_NE(old_pod.port(), 0);
  DataplaneCluster c(30200);
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(
      c.kubectl_apply(service_yaml("web", 5432) + slice_yaml("web-1", "web", {"127.0.0.2"}, old_pod.port())));
  auto port = c.wait_for_host_port("web", 5432);
  ASSERT_TRUE(port);
  ASSERT_TRUE(eventually([&] { return greets(*port, "old"); }, kWait)) << c.berth().log();
  ASSERT_TRUE(c.wait_for_applied(1));
  const std::size_t reloads = c.reloads(), starts = c.starts();
  auto before = c.haproxy_status();
  ASSERT_TRUE(before);

  // The pod moves: same slice, new address and port.
  ASSERT_TRUE(c.kubectl_apply(slice_yaml("web-1", "web", {"127.0.0.3"}, new_pod.port())));
  ASSERT_TRUE(eventually([&] { return greets(*port, "new"); }, kWait))
      << greeting_or_error(*port) << "\n" << c.berth().log();
  EXPECT_EQ(c.reloads(), reloads) << "an endpoint change must not reload HAProxy";
  EXPECT_EQ(c.starts(), starts);
  auto status = c.haproxy_status();
  ASSERT_TRUE(status);
  EXPECT_EQ(status->master.reloads, before->master.reloads) << "HAProxy's own count agrees";
  EXPECT_EQ(status->current_worker(), before->current_worker());
  // The config on disk follows the runtime change (just after it), so a later reload keeps it.
  std::string config;
  EXPECT_TRUE(eventually(
      [&] {
        config = read_whole_file(c.config_path()).value_or("");
        return config.find(fmt::format("127.0.0.3:{}", new_pod.port())) != std::string::npos;
      },
      kWait))
      << config;
}

TEST(DataplaneKubeSim, AForeignListenerOnAnAllocatedPortMovesOnlyThatService) {
  EchoServer db("db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  DataplaneCluster c(30300);
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("first", 3306) + slice_yaml("first-1", "first", {"127.0.0.2"}, db.port())));
  auto first_port = c.wait_for_host_port("first", 3306);
  ASSERT_TRUE(first_port);
  ASSERT_TRUE(eventually([&] { return greets(*first_port, "db"); }, kWait));

  // Another process takes a port of the pool; a Service is pinned to exactly that port.
  const int taken = c.first_port() + 50;
  int holder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{.sin_family = AF_INET, .sin_port = htons(taken), .sin_addr = {htonl(INADDR_LOOPBACK)}};
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(holder, 8), 0);
  ASSERT_TRUE(c.kubectl_apply(service_yaml("pinned", 3306, {{"haproxy-ingress/3306", std::to_string(taken)}}) +
                              slice_yaml("pinned-1", "pinned", {"127.0.0.2"}, db.port())));
  // It is moved to another port, served there; the first Service never stops.
  std::optional<int> moved;
  ASSERT_TRUE(eventually(
      [&] {
        moved = c.host_port("pinned", 3306);
        return moved && *moved != taken;
      },
      kWait))
      << c.berth().log();
  EXPECT_TRUE(eventually([&] { return greets(*moved, "db"); }, kWait)) << c.berth().log();
  EXPECT_TRUE(greets(*first_port, "db"));
  EXPECT_GE(c.berth().count_in_log("PortUnavailable"), 1u);
  EXPECT_TRUE(eventually([&] { return c.has_event("pinned", "PortUnavailable"); }, kWait));
  EXPECT_FALSE(c.has_event("first", "PortUnavailable"));
  ::close(holder);
}

TEST(DataplaneKubeSim, ASigkilledBerthComesBackWithoutAReloadOrACutSession) {
  EchoServer db("db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  DataplaneCluster c(30400);
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("db", 3306) + slice_yaml("db-1", "db", {"127.0.0.2"}, db.port()) +
                              service_yaml("cache", 6379) + slice_yaml("cache-1", "cache", {"127.0.0.2"}, db.port())));
  auto port = c.wait_for_host_port("db", 3306);
  auto cache_port = c.wait_for_host_port("cache", 6379);
  ASSERT_TRUE(port && cache_port);
  ASSERT_TRUE(eventually([&] { return greets(*port, "db") && greets(*cache_port, "db"); }, kWait)) << c.berth().log();
  // The kill comes once berth has confirmed the reload (a kill in between costs one harmless
  // reload after the restart).
  ASSERT_TRUE(c.wait_for_applied(2)) << c.berth().log();
  auto before = c.haproxy_status();
  ASSERT_TRUE(before);
  std::vector<std::unique_ptr<TcpClient>> sessions;
  for (int i = 0; i < 20; ++i) {
    auto s = TcpClient::connect("127.0.0.1", *port, 2s);
    ASSERT_TRUE(s);
    ASSERT_EQ(*(*s)->read_line(2s), "db");
    sessions.push_back(std::move(*s));
  }

  c.berth().kill();
  ASSERT_TRUE(c.berth().start());
  ASSERT_TRUE(c.berth().wait_for_log("its config is current, no reload", kWait)) << c.berth().log();
  // Give the restarted berth the chance to do something wrong: one full resync.
  ASSERT_TRUE(c.berth().wait_for_log("caches synced", kWait, 2));
  auto after = c.haproxy_status();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->master.pid, before->master.pid) << "HAProxy was restarted";
  EXPECT_EQ(after->master.reloads, before->master.reloads) << "HAProxy was reloaded";
  EXPECT_EQ(after->current_worker(), before->current_worker());
  int alive = 0;
  for (auto& s : sessions) alive += s->round_trip("ping", 2s) ? 1 : 0;
  EXPECT_EQ(alive, 20);
  EXPECT_TRUE(greets(*cache_port, "db"));
}

TEST(DataplaneKubeSim, AProcessBindingAServedPortWithSoReuseportGetsNoneOfItsConnections) {
  EchoServer db("tenant", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  DataplaneCluster c(30500);
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("t", 3306) + slice_yaml("t-1", "t", {"127.0.0.2"}, db.port())));
  auto port = c.wait_for_host_port("t", 3306);
  ASSERT_TRUE(port);
  ASSERT_TRUE(eventually([&] { return greets(*port, "tenant"); }, kWait));

  int thief = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int on = 1;
  ASSERT_EQ(::setsockopt(thief, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on), 0);
  sockaddr_in address{.sin_family = AF_INET, .sin_port = htons(*port), .sin_addr = {htonl(INADDR_LOOPBACK)}};
  const bool bound = ::bind(thief, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 && ::listen(thief, 64) == 0;
  EXPECT_FALSE(bound) << "HAProxy's socket must not admit a SO_REUSEPORT sharer (global noreuseport)";
  int reached_tenant = 0;
  for (int i = 0; i < 20; ++i) reached_tenant += greets(*port, "tenant") ? 1 : 0;
  EXPECT_EQ(reached_tenant, 20);
  ::close(thief);
}

TEST(DataplaneKubeSim, AKilledHaproxyIsStartedAgainWithEveryPort) {
  EchoServer db("db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  DataplaneCluster c(30600);
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("db", 3306) + slice_yaml("db-1", "db", {"127.0.0.2"}, db.port())));
  auto port = c.wait_for_host_port("db", 3306);
  ASSERT_TRUE(port);
  ASSERT_TRUE(eventually([&] { return greets(*port, "db"); }, kWait));
  auto status = c.haproxy_status();
  ASSERT_TRUE(status);
  ASSERT_EQ(::kill(status->master.pid, SIGKILL), 0);
  ASSERT_TRUE(c.berth().wait_for_log("haproxy started", kWait, 2)) << c.berth().log();
  c.watch();
  EXPECT_TRUE(eventually([&] { return greets(*port, "db"); }, kWait)) << c.berth().log();
  auto again = c.haproxy_status();
  ASSERT_TRUE(again);
  EXPECT_NE(again->master.pid, status->master.pid);
}

// The built-in template with one more line after the line that holds `anchor` (the n-th
// occurrence, counting from 1).
std::string template_with_line_after(std::string_view anchor, int occurrence, std::string_view line) {
  std::string text(haproxy::ConfigRenderer::default_template());
  std::size_t at = 0;
  for (int i = 0; i < occurrence; ++i) {
    at = text.find(anchor, i == 0 ? 0 : at + 1);
    if (at == std::string::npos) return "";
  }
  at = text.find('\n', at) + 1;
  text.insert(at, std::string(line) + "\n");
  return text;
}

TEST(DataplaneKubeSim, ATemplateHaproxyRejectsLeavesTheRunningConfigServing) {
  EchoServer db("db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  TempDir templates;
  // Valid mustache, invalid HAProxy: a keyword HAProxy does not know in the global section.
  const std::string bad = template_with_line_after("noreuseport", 2, "    bogus-keyword-from-a-template");
  ASSERT_FALSE(bad.empty());
  const auto bad_path = templates.write("bad.mustache", bad);

  DataplaneCluster c(30700);
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("db", 3306) + slice_yaml("db-1", "db", {"127.0.0.2"}, db.port())));
  auto port = c.wait_for_host_port("db", 3306);
  ASSERT_TRUE(port);
  ASSERT_TRUE(eventually([&] { return greets(*port, "db"); }, kWait)) << c.berth().log();
  auto before = c.haproxy_status();
  ASSERT_TRUE(before);

  // berth comes back with the operator's broken template: HAProxy keeps the old config.
  ASSERT_TRUE(c.berth().stop());
  auto served_config = read_whole_file(c.config_path());  // final once berth has stopped
  ASSERT_TRUE(served_config);
  c.berth().add_args({"--template", bad_path.string()});
  ASSERT_TRUE(c.berth().start());
  ASSERT_TRUE(c.berth().wait_for_log("haproxy rejected the new config", kWait)) << c.berth().log();
  EXPECT_TRUE(greets(*port, "db"));
  auto after = c.haproxy_status();
  ASSERT_TRUE(after);
  EXPECT_EQ(after->master.reloads, before->master.reloads) << "a rejected config must never be reloaded";
  EXPECT_EQ(after->current_worker(), before->current_worker());
  EXPECT_EQ(*read_whole_file(c.config_path()), *served_config) << "haproxy.cfg must stay what runs";
  auto rejected = read_whole_file(c.config_path().string() + ".rejected");
  ASSERT_TRUE(rejected) << "the rejected config is kept for inspection";
  EXPECT_NE(rejected->find("bogus-keyword-from-a-template"), std::string::npos);
  // It is retried, and keeps failing, without touching what runs.
  ASSERT_TRUE(c.berth().wait_for_log("haproxy rejected the new config", kWait, 2));
  EXPECT_TRUE(greets(*port, "db"));
}

TEST(DataplaneKubeSim, AListenerHaproxyRejectsIsReportedOnItsServiceAndTheOthersAreServed) {
  EchoServer db("db", "127.0.0.2");
  ASSERT_TRUE(db.ok());
  TempDir templates;
  // HAProxy rejects only listeners with a maxconn: the line follows the frontend's maxconn.
  const std::string picky = template_with_line_after("    maxconn {{maxconn}}", 2, "    no-such-frontend-keyword");
  ASSERT_FALSE(picky.empty());
  DataplaneCluster c(30800, {"--template", templates.write("picky.mustache", picky).string()});
  ASSERT_TRUE(c.start()) << c.berth().log();
  ASSERT_TRUE(c.kubectl_apply(service_yaml("plain", 3306) + slice_yaml("plain-1", "plain", {"127.0.0.2"}, db.port())));
  auto plain = c.wait_for_host_port("plain", 3306);
  ASSERT_TRUE(plain);
  ASSERT_TRUE(eventually([&] { return greets(*plain, "db"); }, kWait)) << c.berth().log();

  ASSERT_TRUE(c.kubectl_apply(service_yaml("limited", 3306, {{"haproxy-ingress/maxconn", "10"}}) +
                              slice_yaml("limited-1", "limited", {"127.0.0.2"}, db.port()) +
                              service_yaml("later", 3306) + slice_yaml("later-1", "later", {"127.0.0.2"}, db.port())));
  auto limited = c.wait_for_host_port("limited", 3306);
  auto later = c.wait_for_host_port("later", 3306);
  ASSERT_TRUE(limited && later);
  EXPECT_TRUE(eventually([&] { return c.has_event("limited", "ConfigRejected"); }, kWait)) << c.berth().log();
  EXPECT_TRUE(eventually([&] { return greets(*later, "db"); }, kWait)) << c.berth().log();
  EXPECT_TRUE(greets(*plain, "db"));
  EXPECT_FALSE(greets(*limited, "db")) << "the rejected listener must not be served";
  EXPECT_FALSE(c.has_event("later", "ConfigRejected"));
  EXPECT_FALSE(c.has_event("plain", "ConfigRejected"));
}

}  // namespace
}  // namespace berth::testing
