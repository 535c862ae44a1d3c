#include "chaos/chaos_run.h"

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <random>

#include <fmt/format.h>

#include "chaos/allocation_sampler.h"
#include "chaos/expected_dataplane.h"
#include "chaos/held_sessions.h"
#include "chaos/load_balancer.h"
#include "chaos/service_churn.h"
#include "chaos/user_writes.h"
#include "haproxy/runtime_stats.h"
#include "kube/resource.h"
#include "support/allocation_checks.h"
#include "support/echo_server.h"
#include "support/eventually.h"
#include "support/kube_sim_cluster.h"

namespace berth::chaos {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void progress(const std::string& line) {
  std::fprintf(stderr, "chaos: %s\n", line.c_str());
  std::fflush(stderr);
}

// The flags both berths share: the pool, leader election with a short Lease (so a SIGKILLed
// leader is replaced in seconds), a short quarantine (so released ports are reused during the
// run), health checks slow enough for thousands of dead test endpoints on 2 cores.
std::vector<std::string> common_berth_args(const ChaosOptions& o, const std::string& kubeconfig) {
  return {"--kubeconfig", kubeconfig,
          "--port-range", fmt::format("{}-{}", o.first_port, o.last_port),
          "--allow-loopback-endpoints",
          "--leader-elect",
          "--leader-elect-lease-duration", "3s",
          "--leader-elect-renew-deadline", "2s",
          "--leader-elect-retry-period", "500ms",
          "--port-quarantine", "20s",
          "--gather-delay", "100ms",
          "--min-reload-interval", "500ms",
          "--check-interval", "5s",
          "--kube-api-qps", "300",
          "--kube-api-burst", "600",
          "--listen-mode", o.listen_mode};
}

}  // namespace

struct ChaosRun::State {
  explicit State(ChaosOptions o)
      : options(std::move(o)),
        rng(options.seed) {}

  ChaosOptions options;
  std::mt19937_64 rng;
  testing::KubeSimCluster cluster;
  UserWrites writes;
  std::unique_ptr<ServiceChurn> churn;  // made once kube-sim runs
  std::vector<std::unique_ptr<testing::EchoServer>> backends;  // one per stable Service
  std::vector<std::unique_ptr<LoadBalancer>> balancers;
  HeldSessions sessions;
  std::map<std::string, std::map<std::string, std::string>> stable_ports;  // "ns/name" → annotation → host port

  nlohmann::json summary = nlohmann::json::object();
  std::vector<std::string> failures;
  std::map<std::string, int> faults;
  std::map<std::string, int> kills;
  nlohmann::json checkpoints = nlohmann::json::array();
  std::vector<std::string> last_problems;

  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }

  bool setup();
  bool converge(const std::string& what, double* seconds);
  std::vector<std::string> problems_now();
  void inject_fault();
  void kill_one(std::optional<std::size_t>& killed, int& restart_at, int op, int ops);
  nlohmann::json checkpoint(int round, bool quiet);
  void judge_memory();
  std::optional<int> master_pid(LoadBalancer& lb);
};

bool ChaosRun::State::setup() {
  if (!cluster.ready()) {
    failures.push_back("kube-sim: " + cluster.error());
    return false;
  }
  churn = std::make_unique<ServiceChurn>(cluster.api(), options.seed ^ 0x9e3779b97f4a7c15ULL, options.first_port,
                                         options.last_port, writes);
  // Stable Services: one EchoServer each, never touched by the churn.
  for (int i = 0; i < options.stable_services; ++i) {
    const std::string name = fmt::format("stable-{}", i);
    backends.push_back(std::make_unique<testing::EchoServer>(name));
    const nlohmann::json slice = {
        {"apiVersion", "discovery.k8s.io/v1"},
        {"kind", "EndpointSlice"},
        {"metadata", {{"name", name + "-1"}, {"labels", {{"kubernetes.io/service-name", name}}}}},
        {"addressType", "IPv4"},
        {"ports", {{{"name", "p3306"}, {"port", backends.back()->port()}, {"protocol", "TCP"}}}},
        {"endpoints", {{{"addresses", {"127.0.0.1"}}, {"conditions", {{"ready", true}}}}}}};
    if (!cluster.api().create(kube::kEndpointSlices, "default", slice) ||
        !cluster.api().create(kube::kServices, "default", testing::marked_service(name, {3306}))) {
      failures.push_back("could not create " + name);
      return false;
    }
  }
  if (!churn->populate(options.services)) {
    failures.push_back("could not create the churned Services");
    return false;
  }
  const auto args = common_berth_args(options, cluster.sim().kubeconfig_path().string());
  const char* names[] = {"a", "b"};
  for (std::size_t i = 0; i < 2; ++i) {
    balancers.push_back(std::make_unique<LoadBalancer>(names[i], options.bind_addresses[i], options.first_port - 1, args));
    if (auto up = balancers.back()->start(120s); !up) {
      failures.push_back(fmt::format("load balancer {}: {}", names[i], up.error().describe()));
      return false;
    }
  }
  double seconds = 0;
  if (!converge("the initial sync", &seconds)) return false;
  summary["initial_converge_seconds"] = seconds;

  auto all = testing::read_allocations(cluster.api());
  if (!all) {
    failures.push_back("reading the stable Services: " + all.error().describe());
    return false;
  }
  for (int i = 0; i < options.stable_services; ++i) {
    const std::string name = fmt::format("stable-{}", i);
    const std::string host_port = (*all)["default/" + name].allocations["haproxy-ingress/3306"];
    stable_ports["default/" + name]["haproxy-ingress/3306"] = host_port;
    for (auto& lb : balancers) {
      if (auto held = sessions.open(lb->address(), std::stoi(host_port), name, options.sessions_per_stable); !held) {
        failures.push_back("opening a held session: " + held.error().describe());
        return false;
      }
    }
  }
  return true;
}

std::vector<std::string> ChaosRun::State::problems_now() {
  std::vector<std::string> problems;
  auto allocations = testing::read_allocations(cluster.api());
  if (!allocations) return {"listing Services: " + allocations.error().describe()};
  problems = testing::allocation_violations(*allocations, options.first_port, options.last_port);
  if (!problems.empty()) return problems;
  auto objects = read_cluster(cluster.api());
  if (!objects) return {"listing: " + objects.error().describe()};
  const auto expected = expected_listeners(*objects, options.first_port, options.last_port);
  for (auto& lb : balancers) {
    auto socket = lb->master();
    // Range mode names each port's backend in its ports.map (runtime_stats.h).
    auto stats = haproxy::read_runtime_stats(socket, options.listen_mode == "range"
                                                         ? std::optional<std::string>(lb->ports_map().string())
                                                         : std::nullopt);
    if (!stats) {
      problems.push_back(fmt::format("load balancer {}: {}", lb->name(), stats.error().describe()));
      continue;
    }
    for (auto& difference : dataplane_differences(expected, stats->listeners)) {
      problems.push_back(fmt::format("load balancer {}: {}", lb->name(), difference));
    }
  }
  return problems;
}

bool ChaosRun::State::converge(const std::string& what, double* seconds) {
  const auto start = Clock::now();
  const bool done = testing::eventually(
      [&] {
        last_problems = problems_now();
        return last_problems.empty();
      },
      options.converge_timeout, 500ms);
  *seconds = seconds_since(start);
  if (!done) {
    std::string shown;
    for (std::size_t i = 0; i < last_problems.size() && i < 15; ++i) shown += "\n  " + last_problems[i];
    failures.push_back(fmt::format("{}: not converged after {:.0f} s ({} problems):{}", what, *seconds,
                                   last_problems.size(), shown));
  }
  return done;
}

void ChaosRun::State::inject_fault() {
  testing::KubeSimProcess& sim = cluster.sim();
  switch (pick(5)) {
    case 0:
      ++faults["drop_watches"];
      (void)sim.admin("POST", "/admin/faults/drop-watches");
      break;
    case 1:
      ++faults["compact_410"];
      (void)sim.admin("POST", "/admin/faults/compact");
      break;
    case 2: {
      const int statuses[] = {429, 500, 503};
      const int status = statuses[pick(3)];
      ++faults[fmt::format("errors_{}", status)];
      (void)sim.admin("POST", "/admin/faults/errors",
                      nlohmann::json{{"count", 5 + pick(40)}, {"status", status}, {"retryAfterSeconds", pick(2)}}.dump());
      break;
    }
    case 3:
      ++faults["latency"];
      (void)sim.admin("POST", "/admin/faults/latency", nlohmann::json{{"milliseconds", 20 + pick(180)}}.dump());
      break;
    default:
      ++faults["kube_sim_restart"];
      if (auto restarted = sim.restart(); !restarted) failures.push_back("kube-sim restart: " + restarted.error().describe());
      break;
  }
}

void ChaosRun::State::kill_one(std::optional<std::size_t>& killed, int& restart_at, int op, int ops) {
  const std::size_t victim = static_cast<std::size_t>(pick(2));
  auto leader = balancers[victim]->is_leader();
  ++kills[leader ? (*leader ? "leader" : "follower") : "unknown_role"];
  balancers[victim]->kill();
  killed = victim;
  restart_at = op + pick(std::max(1, ops / 3));
}

std::optional<int> ChaosRun::State::master_pid(LoadBalancer& lb) {
  auto socket = lb.master();
  auto proc = socket.to_master("show proc");
  if (!proc) return std::nullopt;
  auto table = haproxy::parse_show_proc(*proc);
  if (!table) return std::nullopt;
  lb.remember_haproxy();
  return table->master.pid;
}

nlohmann::json ChaosRun::State::checkpoint(int round, bool quiet) {
  double seconds = 0;
  const bool converged = converge(fmt::format("round {}", round), &seconds);
  const int cut = sessions.check();
  nlohmann::json point = {{"round", round},         {"quiet", quiet},
                          {"converged", converged}, {"converge_seconds", seconds},
                          {"services", churn->live()}, {"sessions_cut", cut}};
  for (auto& lb : balancers) {
    point["berth"][lb->name()] = {{"pid", lb->berth_pid()}, {"rss_kib", lb->berth_rss_kib().value_or(0)}};
  }
  progress(point.dump());
  return point;
}

// Over the quiet rounds no berth was killed: each one's memory at the last checkpoint must be
// within max(8 MiB, 10 %) of what it was at the first quiet checkpoint.
void ChaosRun::State::judge_memory() {
  nlohmann::json memory = nlohmann::json::object();
  for (auto& lb : balancers) {
    std::vector<long> quiet;
    long peak = 0;
    for (const auto& point : checkpoints) {
      const long rss = point["berth"][lb->name()]["rss_kib"].get<long>();
      peak = std::max(peak, rss);
      if (point["quiet"].get<bool>()) quiet.push_back(rss);
    }
    nlohmann::json m = {{"peak_rss_kib", peak}, {"quiet_rss_kib", quiet}};
    if (quiet.size() >= 2) {
      const long growth = quiet.back() - quiet.front();
      const long allowed = std::max<long>(8 * 1024, quiet.front() / 10);
      m["quiet_growth_kib"] = growth;
      m["allowed_growth_kib"] = allowed;
      if (growth > allowed) {
        failures.push_back(fmt::format("berth {}: memory grew {} KiB over the quiet rounds (allowed {})", lb->name(),
                                       growth, allowed));
      }
    } else {
      failures.push_back(fmt::format("berth {}: fewer than 2 quiet checkpoints, memory not judged", lb->name()));
    }
    memory[lb->name()] = std::move(m);
  }
  summary["memory"] = std::move(memory);
}

ChaosRun::ChaosRun(ChaosOptions options) {
  if (options.seed == 0) options.seed = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  state_ = std::make_unique<State>(std::move(options));
}

ChaosRun::~ChaosRun() = default;

nlohmann::json ChaosRun::run() {
  State& s = *state_;
  const ChaosOptions& o = s.options;
  const auto started = Clock::now();
  s.summary["seed"] = o.seed;
  s.summary["listen_mode"] = o.listen_mode;
  s.summary["services"] = o.services;
  s.summary["pool"] = fmt::format("{}-{}", o.first_port, o.last_port);
  progress(fmt::format("seed {} (replay the operations with --seed {})", o.seed, o.seed));

  std::optional<AllocationSampler> sampler;
  std::map<std::string, std::optional<int>> masters_before;
  if (s.setup()) {
    for (auto& lb : s.balancers) masters_before[lb->name()] = s.master_pid(*lb);
    sampler.emplace(s.cluster.connect({.qps = 0, .burst = 1}), s.writes, s.stable_ports, 200ms);
    sampler->start();
    progress(fmt::format("set up in {:.1f} s: {} stable Services, {} held sessions", seconds_since(started),
                         o.stable_services, s.sessions.held()));

    const auto deadline = started + o.budget;
    int rounds_run = 0;
    for (int round = 0; round < o.rounds + o.quiet_rounds && s.failures.empty(); ++round) {
      const bool quiet = round >= o.rounds;
      if (!quiet && Clock::now() >= deadline) {
        round = o.rounds - 1;  // straight to the quiet rounds
        continue;
      }
      const int ops = o.operations_per_round;
      // Where in this round faults and a kill happen.
      std::set<int> fault_at;
      if (o.faults && !quiet) {
        for (int i = 0, n = 1 + s.pick(3); i < n; ++i) fault_at.insert(s.pick(ops));
      }
      std::optional<int> kill_at;
      if (o.kills && !quiet && s.pick(4) != 0) kill_at = s.pick(ops);
      std::optional<std::size_t> killed;
      int restart_at = 0;
      for (int op = 0; op < ops; ++op) {
        if (fault_at.contains(op)) s.inject_fault();
        if (kill_at == op) s.kill_one(killed, restart_at, op, ops);
        if (killed && op >= restart_at) {
          (void)s.balancers[*killed]->start(60s);
          killed.reset();
        }
        s.churn->step(o.services);
      }
      (void)s.cluster.sim().admin("POST", "/admin/faults/clear");
      if (killed) (void)s.balancers[*killed]->start(60s);
      s.checkpoints.push_back(s.checkpoint(round, quiet));
      ++rounds_run;
    }
    s.summary["rounds_run"] = rounds_run;
  }

  SamplerReport sampled;
  if (sampler) sampled = sampler->stop();
  if (sampled.duplicate_samples > 0) {
    s.failures.push_back(fmt::format("{} samples saw one host port held by two Services", sampled.duplicate_samples));
  }
  if (sampled.stable_move_samples > 0) {
    s.failures.push_back(fmt::format("{} samples saw a stable Service's host port change", sampled.stable_move_samples));
  }
  if (s.sessions.cut() > 0) s.failures.push_back(fmt::format("{} held sessions were cut", s.sessions.cut()));
  if (!s.balancers.empty() && !s.checkpoints.empty()) {
#if BERTH_CHAOS_JUDGE_MEMORY
    s.judge_memory();
#else
    // AddressSanitizer keeps freed memory in a quarantine of up to 256 MB, so a sanitized
    // berth's RSS grows with every allocation until then: it says nothing about leaks (which
    // LeakSanitizer reports when berth exits).
    s.summary["memory"] = "not judged: a sanitizer build";
#endif
    for (auto& lb : s.balancers) {
      const auto after = s.master_pid(*lb);
      s.summary["haproxy"][lb->name()] = {{"master_pid_before", masters_before[lb->name()].value_or(0)},
                                          {"master_pid_after", after.value_or(0)},
                                          {"reloads", lb->count_in_log("haproxy reloaded")},
                                          {"berth_starts", lb->count_in_log("starting version=")}};
      if (!after || after != masters_before[lb->name()]) {
        s.failures.push_back(fmt::format("load balancer {}: HAProxy's master changed (it was restarted)", lb->name()));
      }
      if (!lb->running()) {
        s.failures.push_back(fmt::format("berth {} is not running at the end", lb->name()));
        continue;
      }
      auto exit_code = lb->stop_berth();
      s.summary["haproxy"][lb->name()]["berth_exit_code"] = exit_code ? *exit_code : -1;
      if (!exit_code || *exit_code != 0) {
        s.failures.push_back(fmt::format("berth {}: SIGTERM did not end it with exit code 0 ({})", lb->name(),
                                         exit_code ? std::to_string(*exit_code) : exit_code.error().describe()));
      }
    }
  }

  if (s.churn) {
    s.summary["operations"] = s.churn->counts();
    s.summary["operation_failures"] = s.churn->failures();
  }
  s.summary["faults"] = s.faults;
  s.summary["kills"] = s.kills;
  s.summary["checkpoints"] = s.checkpoints;
  s.summary["sampler"] = {{"samples", sampled.samples},
                          {"failed_samples", sampled.failed_samples},
                          {"duplicate_samples", sampled.duplicate_samples},
                          {"duplicates", sampled.duplicates},
                          {"stable_move_samples", sampled.stable_move_samples},
                          {"stable_moves", sampled.stable_moves}};
  s.summary["held_sessions"] = {{"held", s.sessions.held()}, {"cut", s.sessions.cut()}, {"cut_sessions", s.sessions.cut_sessions()}};
  s.summary["elapsed_seconds"] = seconds_since(started);
  s.summary["failures"] = s.failures;
  s.summary["passed"] = s.failures.empty();
  if (!s.failures.empty()) {
    for (auto& lb : s.balancers) {
      const std::string log = lb->log();
      std::fprintf(stderr, "---- berth %s log (last 8 KiB) ----\n%s\n", lb->name().c_str(),
                   log.substr(log.size() > 8192 ? log.size() - 8192 : 0).c_str());
    }
  }
  return s.summary;
}

}  // namespace berth::chaos
