#include "app/options.h"

#include <gtest/gtest.h>

#include <vector>

namespace berth::app {
namespace {

ParsedCommandLine parse(std::vector<const char*> args) {
  args.insert(args.begin(), "berth");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}

TEST(Options, DefaultsAreUsableWithoutAnyFlag) {
  auto parsed = parse({});
  ASSERT_TRUE(std::holds_alternative<Options>(parsed));
  const auto& o = std::get<Options>(parsed);
  EXPECT_EQ(o.kubeconfig, "");
  EXPECT_DOUBLE_EQ(o.kube_api_qps, 20);
  EXPECT_EQ(o.kube_api_burst, 40);
}

TEST(Options, ReadsKubeconfigAndRateLimit) {
  auto parsed = parse({"--kubeconfig", "/tmp/k", "--kube-api-qps", "7.5", "--kube-api-burst", "3"});
  ASSERT_TRUE(std::holds_alternative<Options>(parsed));
  const auto& o = std::get<Options>(parsed);
  EXPECT_EQ(o.kubeconfig, "/tmp/k");
  EXPECT_DOUBLE_EQ(o.kube_api_qps, 7.5);
  EXPECT_EQ(o.kube_api_burst, 3);
}

TEST(Options, RejectsBadValuesWithAUsageExitCode) {
  for (auto args : std::vector<std::vector<const char*>>{{"--kube-api-burst", "0"},
                                                         {"--kube-api-qps", "fast"},
                                                         {"--log-level", "loud"},
                                                         {"--no-such-flag"}}) {
    auto parsed = parse(args);
    ASSERT_TRUE(std::holds_alternative<ExitNow>(parsed)) << args[0];
    EXPECT_NE(std::get<ExitNow>(parsed).code, 0) << args[0];
  }
}

TEST(Options, AllocatorDefaultsMatchTheSystemBerthGrewFrom) {
  auto parsed = parse({});
  ASSERT_TRUE(std::holds_alternative<Options>(parsed));
  const auto& o = std::get<Options>(parsed);
  EXPECT_EQ(o.allocator.port_range.to_string(), "20000-29999");
  EXPECT_TRUE(o.allocator.excluded.empty());
  EXPECT_EQ(o.allocator.quarantine, std::chrono::minutes(10));
  EXPECT_EQ(o.allocator.annotations.class_annotation, "ingress");
  EXPECT_EQ(o.allocator.annotations.ingress_class, "haproxy-ingress");
  EXPECT_EQ(o.allocator.annotations.prefix, "haproxy-ingress");
  EXPECT_EQ(o.allocator.max_ports_per_namespace, 0);
  EXPECT_FALSE(o.leader_election.enabled);
  EXPECT_EQ(o.leader_election.lease_duration, std::chrono::seconds(15));
  EXPECT_EQ(o.leader_election.renew_deadline, std::chrono::seconds(10));
  EXPECT_EQ(o.leader_election.retry_period, std::chrono::seconds(2));
  EXPECT_EQ(o.allocator.quarantine_lease_name, "berth-quarantine");
  EXPECT_EQ(o.dataplane.mode, "haproxy");
}

TEST(Options, ReadsAllocatorAndLeaderElectionFlags) {
  auto parsed = parse({"--port-range", "20000-20099", "--port-range", "31000", "--exclude-ports", "20050,20060-20069",
                       "--port-quarantine", "1h30m", "--class-annotation", "example.com/expose", "--ingress-class",
                       "db", "--annotation-prefix", "ports.example.com", "--watch-namespace", "tenants",
                       "--max-ports-per-namespace", "5", "--leader-elect", "--leader-election-namespace", "berth-system",
                       "--leader-election-id", "berth-a", "--leader-elect-lease-duration", "20s"});
  ASSERT_TRUE(std::holds_alternative<Options>(parsed));
  const auto& o = std::get<Options>(parsed);
  EXPECT_EQ(o.allocator.port_range.to_string(), "20000-20099,31000");
  EXPECT_EQ(o.allocator.excluded.to_string(), "20050,20060-20069");
  EXPECT_EQ(o.allocator.quarantine, std::chrono::minutes(90));
  EXPECT_EQ(o.allocator.annotations.class_annotation, "example.com/expose");
  EXPECT_EQ(o.allocator.annotations.ingress_class, "db");
  EXPECT_EQ(o.allocator.annotations.prefix, "ports.example.com");
  EXPECT_EQ(o.allocator.watch_namespace, "tenants");
  EXPECT_EQ(o.allocator.max_ports_per_namespace, 5);
  EXPECT_TRUE(o.leader_election.enabled);
  EXPECT_EQ(o.leader_election.lease_duration, std::chrono::seconds(20));
  EXPECT_EQ(o.allocator.quarantine_lease_namespace, "berth-system");
  EXPECT_EQ(o.allocator.quarantine_lease_name, "berth-a-quarantine");
}

TEST(Options, RejectsBadAllocatorValuesNamingTheFlag) {
  for (auto args : std::vector<std::vector<const char*>>{{"--port-range", "30000-20000"},
                                                         {"--port-range", "0-10"},
                                                         {"--exclude-ports", "22,,25"},
                                                         {"--port-range", "100-101", "--exclude-ports", "100-101"},
                                                         {"--port-quarantine", "ten minutes"},
                                                         {"--port-quarantine", "-1m"},
                                                         {"--annotation-prefix", "Bad Prefix"},
                                                         {"--watch-namespace", "Not_Valid"},
                                                         {"--max-ports-per-namespace", "-1"},
                                                         {"--leader-elect-retry-period", "2"},
                                                         {"--dataplane", "nginx"}}) {
    auto parsed = parse(args);
    ASSERT_TRUE(std::holds_alternative<ExitNow>(parsed)) << args[0] << " " << args[1];
    EXPECT_EQ(std::get<ExitNow>(parsed).code, 2) << args[0] << " " << args[1];
  }
}

TEST(Options, DataplaneDefaultsSuitDatabaseSessions) {
  auto parsed = parse({});
  ASSERT_TRUE(std::holds_alternative<Options>(parsed));
  const DataplaneOptions& d = std::get<Options>(parsed).dataplane;
  EXPECT_TRUE(d.enabled());
  EXPECT_EQ(d.haproxy_binary, "/usr/sbin/haproxy");
  EXPECT_EQ(d.config_path(), "/var/lib/berth/haproxy.cfg");
  EXPECT_EQ(d.master_socket(), "/run/berth/master.sock");
  EXPECT_EQ(d.global.admin_socket, "/run/berth/admin.sock");
  EXPECT_EQ(d.global.server_state_file, "/var/lib/berth/server-state");
  ASSERT_EQ(d.global.bind_addresses.size(), 1u);
  EXPECT_EQ(d.global.bind_addresses[0].text(), "0.0.0.0");
  EXPECT_EQ(d.global.max_old_workers, 0) << "no old worker is ever stopped by default: it would cut sessions";
  EXPECT_EQ(d.global.log.kind, haproxy::LogTarget::Kind::kNone);
  EXPECT_EQ(d.min_reload_interval, std::chrono::seconds(1));
  // Range mode by default: Services come and go with no reload, so no old worker is left
  // holding sessions, and a new Service is a few Runtime API commands: nothing is worth
  // waiting for.
  EXPECT_TRUE(d.range_mode());
  EXPECT_EQ(d.gather_delay, std::chrono::nanoseconds(0));

  auto port = parse({"--listen-mode", "port"});
  ASSERT_TRUE(std::holds_alternative<Options>(port));
  EXPECT_FALSE(std::get<Options>(port).dataplane.range_mode());
  EXPECT_EQ(std::get<Options>(port).dataplane.gather_delay, std::chrono::milliseconds(20))
      << "a burst of new Services is one reload";
  auto chosen = parse({"--listen-mode", "range", "--gather-delay", "5ms"});
  ASSERT_TRUE(std::holds_alternative<Options>(chosen));
  EXPECT_EQ(std::get<Options>(chosen).dataplane.gather_delay, std::chrono::milliseconds(5));
}

TEST(Options, ReadsDataplaneFlags) {
  auto parsed = parse({"--haproxy-config-dir", "/tmp/b/cfg", "--haproxy-socket-dir", "/tmp/b/run", "--bind-address",
                       "::", "--bind-address", "127.0.0.1", "--bind-address", "::", "--haproxy-log-target",
                       "127.0.0.1:5514", "--max-old-workers", "3", "--check-interval", "500ms", "--gather-delay",
                       "50ms", "--min-reload-interval", "2s", "--haproxy-maxconn", "5000", "--haproxy-nbthread", "2",
                       "--min-server-slots", "4", "--listen-mode", "port", "--template", "/etc/berth/haproxy.mustache"});
  ASSERT_TRUE(std::holds_alternative<Options>(parsed));
  const DataplaneOptions& d = std::get<Options>(parsed).dataplane;
  ASSERT_EQ(d.global.bind_addresses.size(), 2u) << "a repeated address counts once";
  EXPECT_EQ(d.global.bind_addresses[0].text(), "::");
  EXPECT_EQ(d.global.log.kind, haproxy::LogTarget::Kind::kUdp);
  EXPECT_EQ(d.global.max_old_workers, 3);
  EXPECT_EQ(d.global.check_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(d.global.maxconn, 5000);
  EXPECT_EQ(d.global.nbthread, 2);
  EXPECT_EQ(d.min_server_slots, 4u);
  EXPECT_EQ(d.gather_delay, std::chrono::milliseconds(50));
  EXPECT_EQ(d.min_reload_interval, std::chrono::seconds(2));
  EXPECT_EQ(d.master_socket(), "/tmp/b/run/master.sock");
  EXPECT_EQ(d.template_file, "/etc/berth/haproxy.mustache");
}

TEST(Options, RejectsDataplaneValuesThatCouldReachTheConfig) {
  for (auto args : std::vector<std::vector<const char*>>{{"--haproxy-config-dir", "relative"},
                                                         {"--haproxy-config-dir", "/tmp/a b"},
                                                         {"--haproxy-socket-dir", "/tmp/x\nglobal"},
                                                         {"--haproxy-socket-dir", "/tmp/a-very-long-directory-name-that-"
                                                                                  "leaves-no-room-for-the-socket-name-"
                                                                                  "inside-sun-path-xxxxxxxxxxxxxxx"},
                                                         {"--bind-address", "0.0.0.0:80"},
                                                         {"--bind-address", "localhost"},
                                                         {"--haproxy-log-target", "syslog"},
                                                         {"--check-interval", "10ms"},
                                                         {"--min-reload-interval", "soon"},
                                                         {"--haproxy-binary", "haproxy"},
                                                         // range mode, the default, has no template
                                                         {"--template", "/etc/berth/haproxy.mustache"},
                                                         {"--haproxy-maxconn", "-1"}}) {
    auto parsed = parse(args);
    ASSERT_TRUE(std::holds_alternative<ExitNow>(parsed)) << args[0] << " " << args[1];
    EXPECT_EQ(std::get<ExitNow>(parsed).code, 2) << args[0] << " " << args[1];
  }
}

TEST(Options, HaproxysOwnMetricsListenOnAPortOfTheirOwn) {
  auto off = parse({});
  ASSERT_TRUE(std::holds_alternative<Options>(off));
  EXPECT_FALSE(std::get<Options>(off).dataplane.global.prometheus.has_value());

  auto on = parse({"--haproxy-metrics-bind-address", "[::1]:8405"});
  ASSERT_TRUE(std::holds_alternative<Options>(on));
  const auto& prometheus = std::get<Options>(on).dataplane.global.prometheus;
  ASSERT_TRUE(prometheus.has_value());
  EXPECT_EQ(prometheus->address.with_port(prometheus->port), "[::1]:8405");
  auto all = parse({"--haproxy-metrics-bind-address", ":8405"});
  ASSERT_TRUE(std::holds_alternative<Options>(all));
  EXPECT_EQ(std::get<Options>(all).dataplane.global.prometheus->address.text(), "0.0.0.0");
  // An excluded port of the pool is free for it.
  EXPECT_TRUE(std::holds_alternative<Options>(
      parse({"--haproxy-metrics-bind-address", ":20005", "--exclude-ports", "20005"})));

  for (auto args : std::vector<std::vector<const char*>>{
           {"--haproxy-metrics-bind-address", "127.0.0.1:0"},
           {"--haproxy-metrics-bind-address", "localhost:8405"},
           {"--haproxy-metrics-bind-address", ":25000"},  // a host port of the default pool
           {"--haproxy-metrics-bind-address", ":8080", "--metrics-bind-address", ":8080"}}) {
    auto parsed = parse(args);
    ASSERT_TRUE(std::holds_alternative<ExitNow>(parsed)) << args[1];
    EXPECT_EQ(std::get<ExitNow>(parsed).code, 2) << args[1];
  }
}

TEST(Options, HelpExitsSuccessfully) {
  auto parsed = parse({"--help"});
  ASSERT_TRUE(std::holds_alternative<ExitNow>(parsed));
  EXPECT_EQ(std::get<ExitNow>(parsed).code, 0);
}

}  // namespace
}  // namespace berth::app
