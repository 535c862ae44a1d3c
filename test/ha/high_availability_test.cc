// Two load-balancer hosts behind one VIP, as docs/high-availability.md describes them: each a
// network namespace running berth (with --leader-elect), the HAProxy it starts and keepalived
// (VRRPv3), on one bridge with the cluster (kube-sim and the "pods") and a client.
//
//   client 198.18.0.100 ─┐
//   lb-a   198.18.0.11  ─┤  br0 in the "sw" namespace      VIP 198.18.0.200 on lb-a or lb-b
//   lb-b   198.18.0.12  ─┤
//   k8s    198.18.0.1   ─┘  kube-sim (--tls-san 198.18.0.1) and the echo servers standing in for pods
//
// Every address is on an interface the test creates inside namespaces of its own (198.18.0.0/15
// is the benchmarking range, unused on real networks); the machine's own namespace gets no
// link, address or route. Namespace names carry the test's pid (NetworkNamespace), and
// everything is removed when the test ends, also when it fails: the processes by their own
// PIDs, then the namespaces, whose links go with them. Inside its namespace each host may use
// any port, so the host-port block below collides with no other test.
//
// The client reaches the hosts from threads that entered its namespace (run_inside); kubectl
// runs inside the cluster namespace.
#include <signal.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"
#include "e2e/dataplane_cluster.h"
#include "support/echo_server.h"
#include "support/eventually.h"
#include "support/foreign_processes.h"
#include "support/haproxy_guard.h"
#include "support/keepalived_process.h"
#include "support/kube_sim_process.h"
#include "support/network_namespace.h"
#include "support/temp_dir.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kClusterAddress = "198.18.0.1";
constexpr const char* kClientAddress = "198.18.0.100";
constexpr const char* kVip = "198.18.0.200";
constexpr int kFirstHostPort = 31700;
constexpr int kLastHostPort = 31799;
// The issue's bound on a failover: new connections to the VIP succeed within this of the stop.
constexpr auto kFailoverBound = 3s;

// keepalived.conf of one host. VRRPv3 allows adverts below a second: 0.1 s makes the backup
// take over 3 × 0.1 s + skew ≈ 0.36 s after the master's last advert. Both start as BACKUP with
// nopreempt, so a host that comes back does not take the VIP (and cut the sessions on it) a
// second time. The VIP is a /32 beside the host's own address. The check script fails while
// the HAProxy master in berth's pid file is not running, which puts the instance in FAULT (no
// VIP) — until berth has started HAProxy, and when HAProxy dies.
std::string keepalived_config(const std::string& router_id, int priority, const std::filesystem::path& haproxy_pid) {
  return fmt::format(R"(global_defs {{
  router_id {router_id}
  vrrp_version 3
  script_user root
  enable_script_security
}}

vrrp_script haproxy_alive {{
  script "/bin/sh -c 'kill -0 $(cat {haproxy_pid})'"
  interval 1
  fall 2
  rise 1
}}

vrrp_instance berth {{
  state BACKUP
  nopreempt
  interface eth0
  virtual_router_id 51
  priority {priority}
  advert_int 0.1
  virtual_ipaddress {{
    {vip}/32 dev eth0
  }}
  track_script {{
    haproxy_alive
  }}
}}
)",
                     fmt::arg("router_id", router_id), fmt::arg("haproxy_pid", haproxy_pid.string()),
                     fmt::arg("priority", priority), fmt::arg("vip", kVip));
}

// One load-balancer host: its namespace, berth's directories, berth, the HAProxy it starts
// (stopped by PID through the guard) and keepalived. Torn down in that order backwards.
struct Host {
  Host(std::string role, std::string address) : role(std::move(role)), address(std::move(address)) {}
  ~Host() {
    keepalived.reset();
    berth.reset();  // before the guard, so nothing starts HAProxy again while it stops it
    guard.watch_master(master_socket());
  }

  std::filesystem::path haproxy_config() const { return dir.path() / "cfg" / "haproxy.cfg"; }
  std::filesystem::path master_socket() const { return dir.path() / "run" / "master.sock"; }
  std::filesystem::path haproxy_pid_file() const { return dir.path() / "run" / "haproxy.pid"; }

  std::string role;
  std::string address;
  std::unique_ptr<NetworkNamespace> ns;
  TempDir dir;
  HaproxyGuard guard{haproxy_pid_file()};
  std::unique_ptr<BerthProcess> berth;
  std::unique_ptr<KeepalivedProcess> keepalived;
};

// "0.0.0.0:<port>" for every TCP listener in the host-port block, as `ss` sees it inside `ns`.
std::set<std::string> listening(const NetworkNamespace& ns) {
  std::set<std::string> out;
  auto result = ns.exec({"/bin/ss", "-ltnH"}, 10s);
  if (!result || result->exit_code != 0) return {"error: ss failed"};
  std::istringstream lines(result->out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string state, recv_q, send_q, local;
    if (!(fields >> state >> recv_q >> send_q >> local)) continue;
    const int port = std::atoi(local.substr(local.rfind(':') + 1).c_str());
    if (port >= kFirstHostPort && port <= kLastHostPort) out.insert(local);
  }
  return out;
}

// The bind lines of haproxy.cfg, as "0.0.0.0:<port>".
std::set<std::string> configured(const std::filesystem::path& haproxy_config) {
  std::set<std::string> out;
  std::istringstream lines(read_whole_file(haproxy_config).value_or(""));
  for (std::string line; std::getline(lines, line);) {
    constexpr std::string_view kBind = "    bind ";
    if (line.starts_with(kBind)) out.insert(line.substr(kBind.size()));
  }
  return out;
}

std::set<std::string> binds_of(const std::map<std::string, int>& host_ports) {
  std::set<std::string> out;
  for (const auto& [service, port] : host_ports) out.insert(fmt::format("0.0.0.0:{}", port));
  return out;
}

std::string describe(const std::set<std::string>& binds) {
  return fmt::format("{{{}}}", fmt::join(binds, ", "));
}

// New connections to VIP:port from the client namespace on a thread of its own, one every
// 10 ms, each given 100 ms to be answered by `service`; the begin and end of each answered one
// are kept. Bounded: it stops by itself after 60 s or 6,000 tries.
class VipProber {
 public:
  struct Success {
    Clock::time_point begun, answered;
  };

  VipProber(const NetworkNamespace& client, int port, std::string service)
      : thread_([this, &client, port, service = std::move(service)](std::stop_token stop) {
          auto entered = client.run_inside([&] { probe(stop, port, service); });
          if (!entered) error_ = entered.error().describe();
        }) {}

  void stop() {
    thread_.request_stop();
    if (thread_.joinable()) thread_.join();
  }

  std::vector<Success> successes() const {
    std::lock_guard lock(mutex_);
    return successes_;
  }
  const std::string& error() const { return error_; }  // after stop()

  // The first connection begun at or after `t` and answered.
  std::optional<Success> first_begun_after(Clock::time_point t) const {
    for (const Success& s : successes()) {
      if (s.begun >= t) return s;
    }
    return std::nullopt;
  }

  // The longest stretch after `from` in which no connection was answered, up to the first
  // connection begun at or after `until` that was answered.
  std::chrono::milliseconds longest_gap(Clock::time_point from, Clock::time_point until) const {
    Clock::duration longest{};
    Clock::time_point last = from;
    for (const Success& s : successes()) {
      if (s.answered < from) continue;
      longest = std::max(longest, s.answered - last);
      last = s.answered;
      if (s.begun >= until) break;
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(longest);
  }

 private:
  void probe(std::stop_token stop, int port, const std::string& service) {
    const auto deadline = Clock::now() + 60s;
    for (int attempt = 0; attempt < 6000 && !stop.stop_requested() && Clock::now() < deadline; ++attempt) {
      const auto begun = Clock::now();
      auto greeting = greeting_at(kVip, port, 100ms);
      if (greeting && *greeting == service) {
        std::lock_guard lock(mutex_);
        successes_.push_back({begun, Clock::now()});
      }
      // Pacing, not synchronisation: a new connection every 10 ms at most, so a long outage
      // does not exhaust the client's ephemeral ports and a short one is still resolved.
      std::this_thread::sleep_until(begun + 10ms);
    }
  }

  mutable std::mutex mutex_;
  std::vector<Success> successes_;  // guarded by mutex_
  std::string error_;               // written by the thread, read after stop()
  std::jthread thread_;
};

class HighAvailability : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "network namespaces need root";
    if (::access(kKeepalivedBinary, X_OK) != 0) {
      GTEST_SKIP() << kKeepalivedBinary << " is missing (scripts/install-deps installs it)";
    }
    auto sw = NetworkNamespace::create(NetworkNamespace::unique_name("sw"));
    if (!sw) GTEST_SKIP() << "cannot make a network namespace: " << sw.error().describe();
    switch_ = std::move(*sw);
    ASSERT_NO_FATAL_FAILURE(build_network());
  }

  // The bridge in its own namespace and one veth pair per machine: "p-<role>" on the bridge,
  // "eth0" in the machine's namespace.
  void build_network() {
    ASSERT_TRUE(switch_->ip({"link", "add", "br0", "type", "bridge"}));
    ASSERT_TRUE(switch_->ip({"link", "set", "br0", "up"}));
    hosts_[0] = std::make_unique<Host>("lb-a", "198.18.0.11");
    hosts_[1] = std::make_unique<Host>("lb-b", "198.18.0.12");
    auto attach = [&](const std::string& role, const std::string& address) -> std::unique_ptr<NetworkNamespace> {
      auto ns = NetworkNamespace::create(NetworkNamespace::unique_name(role));
      EXPECT_TRUE(ns) << ns.error().describe();
      if (!ns) return nullptr;
      const std::string port = "p-" + role;
      for (auto step : {switch_->ip({"link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", (*ns)->name()}),
                        switch_->ip({"link", "set", port, "master", "br0", "up"}),
                        (*ns)->ip({"addr", "add", address + "/24", "dev", "eth0"}),
                        (*ns)->ip({"link", "set", "eth0", "up"})}) {
        EXPECT_TRUE(step) << step.error().describe();
      }
      return std::move(*ns);
    };
    cluster_ = attach("k8s", kClusterAddress);
    client_ = attach("client", kClientAddress);
    for (auto& host : hosts_) host->ns = attach(host->role, host->address);
    ASSERT_FALSE(HasFailure());
  }

  Host& a() { return *hosts_[0]; }
  Host& b() { return *hosts_[1]; }

  // kube-sim in the cluster namespace, on its bridge address (a SAN of its certificate), and
  // one echo server per Service standing in for its pod.
  void start_cluster() {
    sim_ = std::make_unique<KubeSimProcess>(KubeSimOptions{.listen_host = kClusterAddress,
                                                           .extra_args = {"--tls-san", kClusterAddress},
                                                           .launcher = cluster_->launcher()});
    ASSERT_TRUE(sim_->start());
    ASSERT_TRUE(cluster_->run_inside([&] {
      for (int i = 1; i <= 4; ++i) pods_.push_back(std::make_unique<EchoServer>(fmt::format("db-{}", i), kClusterAddress));
    }));
    for (const auto& pod : pods_) ASSERT_TRUE(pod->ok());
  }

  // berth with leader election (a short Lease, so that the test sees a takeover after a crash
  // in about two seconds) and HAProxy on every address of the host: 0.0.0.0 serves the host's
  // own address and the VIP whenever keepalived puts it there, with no ip_nonlocal_bind.
  void start_berth(Host& host) {
    std::vector<std::string> args = {"--kubeconfig", sim_->kubeconfig_path().string(),
                                     "--haproxy-config-dir", (host.dir.path() / "cfg").string(),
                                     "--haproxy-socket-dir", (host.dir.path() / "run").string(),
                                     "--port-range", fmt::format("{}-{}", kFirstHostPort, kLastHostPort),
                                     "--leader-elect", "--leader-elect-lease-duration", "2s",
                                     "--leader-elect-renew-deadline", "1500ms", "--leader-elect-retry-period",
                                     "250ms"};
    auto flags = DataplaneCluster::default_flags();
    flags["--bind-address"] = "0.0.0.0";
    for (const auto& [flag, value] : flags) args.insert(args.end(), {flag, value});
    host.berth = std::make_unique<BerthProcess>(args, host.ns->launcher());
    ASSERT_TRUE(host.berth->start());
    ASSERT_TRUE(host.berth->wait_for_log("haproxy started", kWait)) << host.berth->log();
    host.guard.watch_master(host.master_socket());
  }

  void start_keepalived(Host& host, int priority) {
    host.keepalived = std::make_unique<KeepalivedProcess>(
        keepalived_config(host.role, priority, host.haproxy_pid_file()), host.ns->launcher());
    ASSERT_TRUE(host.keepalived->start());
  }

  bool has_vip(const Host& host) {
    auto addresses = host.ns->exec({kIpBinary, "-o", "-4", "addr", "show", "dev", "eth0"}, 10s);
    return addresses && addresses->out.find(std::string(kVip) + "/32") != std::string::npos;
  }

  Result<CommandResult> kubectl(std::vector<std::string> args, std::string stdin_data = "") {
    std::vector<std::string> argv = {kKubectl, "--kubeconfig", sim_->kubeconfig_path().string(), "--cache-dir",
                                     (dir_.path() / "kubectl-cache").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return cluster_->exec(argv, 60s, std::move(stdin_data));
  }

  // Service "db-<i>" (port 3306) with one endpoint: the echo server "db-<i>".
  void create_service(int i) {
    const std::string name = fmt::format("db-{}", i);
    auto applied = kubectl({"apply", "-f", "-"}, service_yaml(name, 3306) +
                                                     slice_yaml(name + "-1", name, {kClusterAddress}, pods_[i - 1]->port()));
    ASSERT_TRUE(applied);
    ASSERT_EQ(applied->exit_code, 0) << applied->err;
  }

  // Service name → the host port berth wrote on it, for the Services that have one.
  std::map<std::string, int> host_ports() {
    std::map<std::string, int> out;
    auto listed = kubectl({"get", "services", "-o", "json"});
    if (!listed || listed->exit_code != 0) return out;
    const auto items = nlohmann::json::parse(listed->out, nullptr, false).value("items", nlohmann::json::array());
    for (const auto& item : items) {
      const auto annotations = item["metadata"].value("annotations", nlohmann::json::object());
      if (auto it = annotations.find("haproxy-ingress/3306"); it != annotations.end() && it->is_string()) {
        out[item["metadata"].value("name", "")] = std::stoi(it->get<std::string>());
      }
    }
    return out;
  }

  std::map<std::string, int> wait_for_host_ports(std::size_t services) {
    std::map<std::string, int> ports;
    eventually([&] { return (ports = host_ports()).size() == services; }, kWait, 100ms);
    return ports;
  }

  // The greeting of whatever answers at address:port, from the client namespace.
  std::string greeting_from_client(const std::string& address, int port, std::chrono::milliseconds timeout = 2s) {
    std::string answer;
    auto entered = client_->run_inside([&] {
      auto greeting = greeting_at(address, port, timeout);
      answer = greeting ? *greeting : "error: " + greeting.error().describe();
    });
    return entered ? answer : "error: " + entered.error().describe();
  }

  // Both hosts serve exactly `ports` (what ss sees listening and what haproxy.cfg binds), and
  // each Service's port on `hosts` answers from the client with that Service's pod.
  void expect_identical_ports_served(const std::map<std::string, int>& ports, const std::vector<Host*>& hosts) {
    const auto want = binds_of(ports);
    for (Host* host : hosts) {
      std::set<std::string> seen_listening, seen_configured;
      EXPECT_TRUE(eventually(
          [&] {
            seen_listening = listening(*host->ns);
            seen_configured = configured(host->haproxy_config());
            return seen_listening == want && seen_configured == want;
          },
          kWait))
          << host->role << " listens on " << describe(seen_listening) << " and binds " << describe(seen_configured)
          << ", want " << describe(want) << "\n"
          << host->berth->log();
      for (const auto& [service, port] : ports) {
        EXPECT_TRUE(eventually([&] { return greeting_from_client(host->address, port) == service; }, kWait))
            << host->role << ":" << port << " answers " << greeting_from_client(host->address, port) << ", want "
            << service;
      }
    }
  }

  // Everything up: berth on both hosts (A leads), keepalived on both (A holds the VIP, B is
  // the backup), three Services served identically by both and reachable at the VIP.
  void bring_up() {
    ASSERT_NO_FATAL_FAILURE(start_cluster());
    ASSERT_NO_FATAL_FAILURE(start_berth(a()));
    ASSERT_TRUE(a().berth->wait_for_log("became leader", kWait)) << a().berth->log();
    ASSERT_NO_FATAL_FAILURE(start_berth(b()));
    ASSERT_NO_FATAL_FAILURE(start_keepalived(a(), 150));
    ASSERT_TRUE(eventually([&] { return has_vip(a()); }, kWait, 20ms)) << a().keepalived->process().log();
    ASSERT_NO_FATAL_FAILURE(start_keepalived(b(), 100));
    ASSERT_TRUE(b().keepalived->process().wait_for_log("Entering BACKUP STATE\n", kWait))
        << b().keepalived->process().log();

    for (int i = 1; i <= 3; ++i) ASSERT_NO_FATAL_FAILURE(create_service(i));
    ports_ = wait_for_host_ports(3);
    ASSERT_EQ(ports_.size(), 3u) << a().berth->log();
    expect_identical_ports_served(ports_, {&a(), &b()});
    for (const auto& [service, port] : ports_) EXPECT_EQ(greeting_from_client(kVip, port), service);
    EXPECT_TRUE(has_vip(a()));
    EXPECT_FALSE(has_vip(b()));
    // Only the leader allocated.
    EXPECT_GE(a().berth->count_in_log("allocated service="), 3u);
    EXPECT_EQ(b().berth->count_in_log("allocated service="), 0u);
  }

  // Stops host A with `stop_a` while the client keeps opening new connections to the VIP, and
  // checks the handover: connections begun after A is gone are answered (through B, the only
  // host left) within the bound, and the longest stretch without an answered connection is
  // reported as the failover time.
  void fail_over(const std::string& how, const std::function<void()>& stop_a) {
    const auto& [first_service, first_port] = *ports_.begin();
    VipProber prober(*client_, first_port, first_service);
    ASSERT_TRUE(eventually([&] { return !prober.successes().empty(); }, kWait, 10ms)) << "the VIP never answered";

    const auto stopped = Clock::now();
    ASSERT_NO_FATAL_FAILURE(stop_a());
    const auto gone = Clock::now();
    const bool answered = eventually([&] { return prober.first_begun_after(gone).has_value(); }, 10s, 10ms);
    prober.stop();
    ASSERT_TRUE(answered) << "no new connection to the VIP was answered within 10 s of the stop; "
                          << prober.error() << "\n"
                          << b().keepalived->process().log();
    const auto outage = prober.longest_gap(stopped, gone);
    const auto served = std::chrono::duration_cast<std::chrono::milliseconds>(
        prober.first_begun_after(gone)->answered - stopped);
    std::cout << "[ failover ] " << how << ": A stopped in "
              << std::chrono::duration_cast<std::chrono::milliseconds>(gone - stopped).count()
              << " ms; longest time without an answered new connection " << outage.count()
              << " ms; first connection begun after A was gone answered " << served.count()
              << " ms after the stop began\n";
    RecordProperty("failover_ms", static_cast<int>(outage.count()));
    RecordProperty("served_after_stop_ms", static_cast<int>(served.count()));
    EXPECT_LT(outage, kFailoverBound);
    EXPECT_LT(served, kFailoverBound);
    EXPECT_TRUE(has_vip(b()));

    // B already served every port; it still does, at its own address and at the VIP.
    expect_identical_ports_served(ports_, {&b()});
    for (const auto& [service, port] : ports_) EXPECT_EQ(greeting_from_client(kVip, port), service);

    // B takes the Lease and allocates a Service created after the failover.
    ASSERT_TRUE(b().berth->wait_for_log("became leader", kWait)) << b().berth->log();
    std::cout << "[ failover ] " << how << ": B became the leader "
              << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stopped).count()
              << " ms after the stop\n";
    ASSERT_NO_FATAL_FAILURE(create_service(4));
    auto ports = wait_for_host_ports(4);
    ASSERT_EQ(ports.size(), 4u) << b().berth->log();
    EXPECT_TRUE(ports.at("db-4") >= kFirstHostPort && ports.at("db-4") <= kLastHostPort) << ports.at("db-4");
    EXPECT_TRUE(eventually([&] { return greeting_from_client(kVip, ports.at("db-4")) == "db-4"; }, kWait))
        << greeting_from_client(kVip, ports.at("db-4")) << "\n"
        << b().berth->log();
    expect_identical_ports_served(ports, {&b()});
  }

  std::unique_ptr<NetworkNamespace> switch_, cluster_, client_;  // destroyed last
  TempDir dir_;
  std::unique_ptr<KubeSimProcess> sim_;
  std::vector<std::unique_ptr<EchoServer>> pods_;
  std::array<std::unique_ptr<Host>, 2> hosts_;  // destroyed first: their processes, then their namespaces
  std::map<std::string, int> ports_;            // the three Services' host ports
};

// Host A loses power: its link goes dead first (so not even a goodbye advert leaves it), then
// keepalived, berth and HAProxy die with SIGKILL. B hears no more adverts, takes the VIP after
// the master-down interval and announces it with gratuitous ARP; its Lease takeover waits for A's
// Lease to expire.
TEST_F(HighAvailability, AFailedHostHandsTheVipAndTheLeaseToTheOther) {
  ASSERT_NO_FATAL_FAILURE(bring_up());
  fail_over("host A failed", [&] {
    ASSERT_TRUE(switch_->ip({"link", "set", "p-lb-a", "down"}));
    a().keepalived->crash();
    a().berth->kill();
    a().guard.watch_master(a().master_socket());
    signal_live_processes(a().guard.pids(), "haproxy", SIGKILL);
  });
}

// Host A is stopped as an operator would: keepalived first (it sends a priority-0 advert and
// removes the VIP, so B takes over at once), then berth (it releases the Lease), then HAProxy.
TEST_F(HighAvailability, AStoppedHostHandsOverAtOnce) {
  ASSERT_NO_FATAL_FAILURE(bring_up());
  fail_over("host A stopped", [&] {
    ASSERT_TRUE(a().keepalived->stop());
    ASSERT_TRUE(a().berth->stop());
    a().guard.watch_master(a().master_socket());
    EXPECT_TRUE(a().guard.stop_all());
  });
  EXPECT_FALSE(has_vip(a()));
}

}  // namespace
}  // namespace berth::testing
