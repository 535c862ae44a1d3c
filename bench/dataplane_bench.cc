// The data plane at scale (issues 4 and 5): the berth binary, the HAProxy it starts and
// kube-sim over loopback, with TCP echo servers (test/support/echo_server.h) standing in for
// databases.
//
//   dataplane_bench [--services N] [--big N] [--samples N] [--scale-samples N] [--reloads N]
//                   [--gather-delay D] [--min-reload-interval D] [--kube-api-qps Q]
//
// One berth runs throughout (berth's own default delays unless given; --haproxy-maxconn 1000):
// 0. a first Service ("seed"), then `scale-samples` new Services one at a time (from the create
//    call until the host port greets, each spaced by more than --min-reload-interval): the
//    latency at 1 exposed Service; Services added up to 100 and the same again: at 100. Then
//    200 sessions are opened on the seed and held through steps 1 and 2.
// 1. burst: N (1,000) marked Services + EndpointSlices created by 8 clients at once → seconds
//    until every host port greets; HAProxy's reloads over it (`show proc`). Goals ≤ 3 s, ≤ 3
//    reloads.
// 2. with those exposed, one more Service + slice until its host port greets: `samples` times
//    back to back (each right after the previous one is served, so the wait for
//    --min-reload-interval is part of it), then `samples` times spaced. Goal p99 ≤ 300 ms.
//    Then the old workers `show proc` lists after these 1,000+ creations with the seed's
//    sessions held: count and memory; the sessions are closed.
// 3. an EndpointSlice moved to another echo server (127.0.0.3 ↔ 127.0.0.4) until the new one
//    greets, `samples` times. Goals p99 ≤ 100 ms, 0 reloads.
// 4. 200 sessions held on one Service, 3 threads opening new connections, `reloads` reloads by
//    creating and deleting other Services (each waited for in berth's log). Goals 0 failed,
//    0 cut.
// 5. the old workers `show proc` lists then, the sessions still held: count and VmRSS.
// 6. Services added up to `big` (10,000) until all greet: berth's VmHWM (goal ≤ 64 MB). Then
//    berth and HAProxy are stopped and berth started cold: seconds until "haproxy started" with
//    every listener, and that berth's VmHWM. Last, the latency of step 0 at `big` Services.
//    HAProxy counts one fd per checked server slot, disabled ones too (FACTS.md), and refuses
//    to start when 2 × maxconn + listeners + slots exceeds the open-files limit (20,000 here):
//    10,000 listeners × 2 slots cannot fit, so the Services of this step carry
//    `haproxy-ingress/check: none` (the "checked_services" parameter says how many are checked).
//
// Prints one JSON object per figure on stdout. Traffic goes only to 127.0.0.0/8; every loop is
// bounded in count and time; every HAProxy process is stopped by PID at the end (the
// DataplaneCluster's HaproxyGuard), also when a step fails.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "app/options.h"
#include "bench_support.h"
#include "common/go_duration.h"
#include "common/log.h"
#include "haproxy/master_cli.h"
#include "kube/resource.h"
#include "support/child_process.h"
#include "support/dataplane_cluster.h"
#include "support/echo_server.h"
#include "support/eventually.h"

namespace {

using namespace std::chrono_literals;
namespace kube = berth::kube;
using berth::testing::DataplaneCluster;
using berth::testing::EchoServer;
using berth::testing::eventually;
using berth::testing::greeting_at;
using berth::testing::TcpClient;
using berth::bench::haproxy_version;
using berth::bench::log_lines;
using berth::bench::ms_between;
using berth::bench::percentile;
using berth::bench::proc_status_kb;
using berth::bench::pss_kb;
using berth::bench::round3;
using berth::bench::time_of_day;
using SteadyClock = std::chrono::steady_clock;
using Ms = std::chrono::duration<double, std::milli>;
using Seconds = std::chrono::duration<double>;

constexpr int kServicePort = 3306;
constexpr int kClients = 8;
constexpr int kHeldSessions = 200;
constexpr int kProbers = 3;
constexpr int kProbeLimit = 2000000;  // new connections over all probers, at most
const std::string kMaxconn = "1000";

struct Params {
  int services = 1000;
  int big = 10000;
  int samples = 30;
  int scale_samples = 10;  // new-Service samples at 1, 100 and 10,000 exposed Services
  int reloads = 100;
  // berth's own defaults unless given (reported in every JSON line).
  std::string gather_delay = berth::format_go_duration(berth::app::DataplaneOptions{}.gather_delay);
  std::string min_reload_interval = berth::format_go_duration(berth::app::DataplaneOptions{}.min_reload_interval);
  std::string qps = "500";
};

// A duration flag's value in whole milliseconds; main() has validated it.
long duration_ms(const std::string& text) {
  auto parsed = berth::parse_go_duration(text);
  return parsed ? static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(*parsed).count()) : 0;
}

nlohmann::json service_object(const std::string& name, bool checked) {
  nlohmann::json annotations = {{"ingress", "haproxy-ingress"}};
  if (!checked) annotations["haproxy-ingress/check"] = "none";
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"annotations", annotations}}},
          {"spec",
           {{"ports", {{{"name", "db"}, {"port", kServicePort}, {"protocol", "TCP"}, {"targetPort", kServicePort}}}}}}};
}

nlohmann::json slice_endpoints(const EchoServer& server, const std::string& address) {
  return {{"endpoints", {{{"addresses", {address}}, {"conditions", {{"ready", true}}}}}},
          {"ports", {{{"name", "db"}, {"port", server.port()}, {"protocol", "TCP"}}}}};
}

// The EndpointSlice "<service>-1": one ready endpoint, the echo server at `address`.
nlohmann::json slice_object(const std::string& service, const EchoServer& server, const std::string& address) {
  nlohmann::json slice = {{"apiVersion", "discovery.k8s.io/v1"},
                          {"kind", "EndpointSlice"},
                          {"metadata", {{"name", service + "-1"}, {"labels", {{"kubernetes.io/service-name", service}}}}},
                          {"addressType", "IPv4"}};
  slice.update(slice_endpoints(server, address));
  return slice;
}

// The took_ms= of every line of berth's log that holds `marker`, in order.
std::vector<double> took_ms(const std::string& log, const std::string& marker) {
  std::vector<double> out;
  for (auto at = log.find(marker); at != std::string::npos; at = log.find(marker, at + marker.size())) {
    const auto end = log.find('\n', at);
    const std::string line = log.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (auto t = line.find("took_ms="); t != std::string::npos) out.push_back(std::stod(line.substr(t + 8)));
  }
  return out;
}

// The number after `key`= on the last line of berth's log that holds `marker`; -1 if none.
long last_field(const std::string& log, const std::string& marker, const std::string& key) {
  const auto at = log.rfind(marker);
  if (at == std::string::npos) return -1;
  const std::string line = log.substr(at, log.find('\n', at) - at);
  const auto k = line.find(" " + key + "=");
  return k == std::string::npos ? -1 : std::stol(line.substr(k + key.size() + 2));
}

const std::string kReloadLine = "] reloaded worker=";     // HaproxyMaster, with took_ms
const std::string kStartLine = "] started master pid=";   // HaproxyMaster, with took_ms

class Bench {
 public:
  Bench(const Params& p, EchoServer& base)
      : p_(p),
        base_(base),
        cluster_({.port_ranges = {{20000, 29999}, {32000, 32767}},
                  .flags = {{"--gather-delay", p.gather_delay},
                            {"--min-reload-interval", p.min_reload_interval},
                            {"--check-interval", "2s"},
                            {"--haproxy-check-period", "5s"},
                            {"--haproxy-maxconn", kMaxconn},
                            {"--kube-api-qps", p.qps},
                            {"--kube-api-burst", p.qps},
                            {"--log-level", "info"}}}) {
    common_ = {{"bench", "dataplane"},  // berth_peak_rss is also a figure of allocation_bench
               {"cores", std::thread::hardware_concurrency()},
               {"haproxy_version", haproxy_version()},
               {"gather_delay", p.gather_delay},
               {"min_reload_interval", p.min_reload_interval},
               {"check_interval", "2s"},
               {"haproxy_maxconn", std::stoi(kMaxconn)},
               {"kube_api_qps", std::stod(p.qps)}};
  }

  int run() {
    if (auto up = cluster_.start(); !up) return fail("berth did not start HAProxy: " + up.error().describe());
    if (small_scales() || hold_sessions_on_seed()) return 1;
    if (burst() || new_service_latency(std::to_string(p_.services), p_.samples, true) || old_workers_after_creations()) {
      return 1;
    }
    if (endpoint_changes() || reloads_under_load()) return 1;
    if (p_.big <= 0) return 0;
    if (big()) return 1;
    return new_service_latency(std::to_string(p_.big), p_.scale_samples, false);
  }

 private:
  void print(nlohmann::json figure) {
    figure.update(common_);
    std::printf("%s\n", figure.dump().c_str());
    std::fflush(stdout);
  }

  int fail(const std::string& what) {
    std::fprintf(stderr, "dataplane_bench: %s\n--- berth's log (last 4000 bytes) ---\n%s\n", what.c_str(),
                 tail(cluster_.berth().log(), 4000).c_str());
    return 1;
  }
  static std::string tail(const std::string& text, std::size_t n) {
    return text.size() <= n ? text : text.substr(text.size() - n);
  }

  std::optional<int> master_reloads() {
    auto status = cluster_.haproxy_status();
    if (!status) return std::nullopt;
    return status->master.reloads;
  }

  // Creates a Service and its slice for each name, `kClients` clients at once. Returns the
  // number of failed creates.
  int create_all(const std::vector<std::string>& names, bool checked) {
    std::atomic<std::size_t> next{0};
    std::atomic<int> failures{0};
    {
      std::vector<std::jthread> clients;
      for (int t = 0; t < kClients; ++t) {
        clients.emplace_back([&] {
          auto client = cluster_.kube().connect({.qps = 0, .burst = 1});
          for (std::size_t i = next++; i < names.size(); i = next++) {
            if (!client->api().create(kube::kServices, "default", service_object(names[i], checked))) ++failures;
            if (!client->api().create(kube::kEndpointSlices, "default", slice_object(names[i], base_, "127.0.0.2"))) {
              ++failures;
            }
          }
        });
      }
    }
    return failures.load();
  }

  // Polls until every Service of `names` has a host port that greets with `greeting`: the
  // annotations by LIST, the ports by connecting. The time the last one greeted, or nullopt
  // when `timeout` passes first.
  std::optional<SteadyClock::time_point> wait_all_greet(const std::vector<std::string>& names,
                                                        const std::string& greeting, std::chrono::seconds timeout) {
    std::set<std::string> pending(names.begin(), names.end());
    std::optional<SteadyClock::time_point> last;
    const auto deadline = SteadyClock::now() + timeout;
    while (!pending.empty()) {
      if (SteadyClock::now() >= deadline) {
        std::fprintf(stderr, "dataplane_bench: %zu Services still not greeting, e.g. %s\n", pending.size(),
                     pending.begin()->c_str());
        return std::nullopt;
      }
      std::map<std::string, int> ports;
      kube::ListOptions options{.limit = 500};
      for (int page = 0; page < 1000; ++page) {
        auto list = cluster_.kube().api().list(kube::kServices, "default", options);
        if (!list) break;
        for (const auto& item : list->items) {
          const std::string name = item["metadata"].value("name", "");
          if (!pending.contains(name)) continue;
          const auto annotations = item["metadata"].value("annotations", nlohmann::json::object());
          const auto it = annotations.find("haproxy-ingress/" + std::to_string(kServicePort));
          if (it != annotations.end() && it->is_string()) ports[name] = std::stoi(it->get<std::string>());
        }
        if (list->continue_token.empty()) break;
        options.continue_token = list->continue_token;
      }
      bool progressed = false;
      for (const auto& [name, port] : ports) {
        auto g = greeting_at("127.0.0.1", port, 500ms);
        if (g && *g == greeting) {
          pending.erase(name);
          last = SteadyClock::now();
          progressed = true;
        }
      }
      // Polling other processes: bounded by the deadline above.
      if (!progressed) std::this_thread::sleep_for(10ms);
    }
    return last;
  }

  // Waits until berth has logged no reload for `quiet`, at most `timeout`: a burst's trailing
  // reload belongs to it.
  void settle(std::chrono::milliseconds quiet, std::chrono::seconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    std::size_t seen = cluster_.reloads();
    auto since = SteadyClock::now();
    while (SteadyClock::now() < deadline && SteadyClock::now() - since < quiet) {
      std::this_thread::sleep_for(20ms);  // polling berth's log
      if (auto now = cluster_.reloads(); now != seen) {
        seen = now;
        since = SteadyClock::now();
      }
    }
  }

  std::vector<double> reload_took_since(std::size_t index) {
    auto all = took_ms(cluster_.berth().log(), kReloadLine);
    return index >= all.size() ? std::vector<double>{} : std::vector<double>(all.begin() + index, all.end());
  }
  std::size_t reload_lines() { return took_ms(cluster_.berth().log(), kReloadLine).size(); }

  // Before the burst: new-Service latency with 1 and then 100 Services exposed. The first
  // Service ("seed") also carries the held sessions of old_workers_after_creations().
  int small_scales() {
    if (auto seed = one_new_service("seed"); !seed) return fail("the seed Service was not served");
    if (new_service_latency("1", p_.scale_samples, false)) return 1;
    std::vector<std::string> names;
    for (int i = static_cast<int>(on_base_.size()); i < 100; ++i) names.push_back(fmt::format("fill-{}", i));
    if (int failed = create_all(names, true); failed > 0) return fail(fmt::format("{} creates failed", failed));
    if (!wait_all_greet(names, base_.name(), 120s)) return fail("the first 100 Services did not all greet");
    on_base_.insert(on_base_.end(), names.begin(), names.end());
    checked_ += static_cast<int>(names.size());
    return new_service_latency("100", p_.scale_samples, false);
  }

  // Sessions held on the seed Service from before the burst: every reload after this leaves the
  // worker that holds them running.
  int hold_sessions_on_seed() {
    auto port = cluster_.host_port("seed", kServicePort);
    if (!port) return fail("the seed Service has no host port");
    for (int i = 0; i < kHeldSessions; ++i) {
      auto s = TcpClient::connect("127.0.0.1", *port, 2s);
      if (!s) return fail("cannot open a held session: " + s.error().describe());
      if (auto line = (*s)->read_line(2s); !line || *line != base_.name()) return fail("a held session got no greeting");
      seed_sessions_.push_back(std::move(*s));
    }
    services_when_held_ = on_base_.size();
    reloads_before_held_ = master_reloads();
    return reloads_before_held_ ? 0 : fail("no answer to show proc");
  }

  // HAProxy's old workers and their memory after the burst and the latency samples (1,000+
  // creations) while the seed's sessions were held; then those sessions are closed.
  int old_workers_after_creations() {
    auto status = cluster_.haproxy_status();
    if (!status) return fail("no answer to show proc");
    int cut = 0;
    for (auto& s : seed_sessions_) cut += s->round_trip("still here", 2s) ? 0 : 1;
    auto memory = old_worker_memory(*status);
    print({{"name", "old_workers_after_1000_creations"},
           {"value", status->old_workers().size()},
           {"unit", "count"},
           {"goal", "counted (lingering old workers)"},
           {"creations", on_base_.size() - services_when_held_},
           {"reloads", status->master.reloads - *reloads_before_held_},
           {"held_sessions", kHeldSessions},
           {"held_sessions_cut", cut},
           {"old_workers_rss_bytes", memory.rss_kb * 1024},
           {"old_workers_pss_bytes", memory.pss_kb * 1024},
           {"current_worker_rss_bytes", memory.current_kb * 1024}});
    seed_sessions_.clear();
    return 0;
  }

  struct WorkerMemory {
    long rss_kb = 0, pss_kb = 0, current_kb = -1;
  };
  static WorkerMemory old_worker_memory(const berth::haproxy::ProcessTable& status) {
    WorkerMemory memory;
    for (int pid : status.old_workers()) {
      memory.rss_kb += std::max(0L, proc_status_kb(pid, "VmRSS"));
      // VmRSS also counts pages an old worker still shares with the master and the new worker.
      memory.pss_kb += std::max(0L, pss_kb(pid));
    }
    if (status.current_worker()) memory.current_kb = proc_status_kb(*status.current_worker(), "VmRSS");
    return memory;
  }

  // Step 1.
  int burst() {
    std::vector<std::string> names;
    for (int i = 0; i < p_.services; ++i) names.push_back(fmt::format("db-{}", i));
    const auto before = master_reloads();
    const std::size_t logged = cluster_.reloads(), lines = reload_lines();
    if (!before) return fail("no answer to show proc");
    const auto start = SteadyClock::now();
    if (int failed = create_all(names, true); failed > 0) return fail(fmt::format("{} creates failed", failed));
    const double created_s = Seconds(SteadyClock::now() - start).count();
    auto done = wait_all_greet(names, base_.name(), 120s);
    if (!done) return fail("the burst's Services did not all greet");
    const double all_s = Seconds(*done - start).count();
    const auto at_done = master_reloads();
    settle(std::chrono::milliseconds(duration_ms(p_.min_reload_interval) + 1000), 30s);
    const auto after = master_reloads();
    if (!at_done || !after) return fail("no answer to show proc");
    const auto took = reload_took_since(lines);
    on_base_.insert(on_base_.end(), names.begin(), names.end());
    checked_ += static_cast<int>(names.size());
    print({{"name", "burst_1000_services_all_accepting"},
           {"value", round3(all_s)},
           {"unit", "s"},
           {"goal", 3.0},
           {"services", p_.services},
           {"services_before", on_base_.size() - names.size()},
           {"clients", kClients},
           {"create_seconds", round3(created_s)}});
    print({{"name", "burst_reloads"},
           {"value", *after - *before},
           {"unit", "count"},
           {"goal", 3},
           {"services", p_.services},
           {"reloads_until_all_accepting", *at_done - *before},
           {"berth_logged_reloads", cluster_.reloads() - logged},
           {"reload_took_ms", took}});
    return 0;
  }

  struct NewService {
    std::string name;
    double created_at = 0;  // local time of day, s, as berth's log writes it
    double allocated_ms = 0, accepting_ms = 0;
  };

  // One new Service + slice: ms until it has an annotation, ms until its port greets.
  std::optional<NewService> one_new_service(const std::string& name) {
    auto& api = cluster_.kube().api();
    const double created_at = time_of_day(std::chrono::system_clock::now());
    const auto start = SteadyClock::now();
    if (!api.create(kube::kServices, "default", service_object(name, true)) ||
        !api.create(kube::kEndpointSlices, "default", slice_object(name, base_, "127.0.0.2"))) {
      return std::nullopt;
    }
    std::optional<int> port;
    if (!eventually([&] { return (port = cluster_.host_port(name, kServicePort)).has_value(); }, 30s, 2ms)) {
      return std::nullopt;
    }
    const double allocated = Ms(SteadyClock::now() - start).count();
    if (!eventually(
            [&] {
              auto g = greeting_at("127.0.0.1", *port, 1s);
              return g && *g == base_.name();
            },
            30s, 1ms)) {
      return std::nullopt;
    }
    on_base_.push_back(name);
    ++checked_;
    return NewService{name, created_at, allocated, Ms(SteadyClock::now() - start).count()};
  }

  // Where the time of new Services went, from berth's log: created → "allocated" line,
  // allocated → `reload` sent (the gather delay, any wait for --min-reload-interval, the port
  // probe, render, `haproxy -c`, the server-state dump), the reload until `show proc` lists the
  // new worker (took_ms), and that confirmation → the first greeting the bench saw. p50 of each.
  nlohmann::json breakdown(const std::vector<NewService>& samples) {
    const auto lines = log_lines(cluster_.berth().log());
    std::vector<double> to_allocated, to_reload_sent, reload, to_greeting;
    for (const auto& s : samples) {
      const std::string allocated_marker = "allocated service=default/" + s.name + " ";
      std::optional<double> allocated_at;
      for (std::size_t i = 0; i < lines.size(); ++i) {
        if (!allocated_at) {
          if (lines[i].text.find(allocated_marker) != std::string::npos) allocated_at = lines[i].time_of_day;
          continue;
        }
        if (lines[i].text.find(kReloadLine) == std::string::npos) continue;
        const auto t = lines[i].text.find("took_ms=");
        if (t == std::string::npos) break;
        const double took = std::stod(lines[i].text.substr(t + 8));
        const double confirmed = ms_between(s.created_at, lines[i].time_of_day);
        // Back to back, the previous Service's reload may be confirmed only after this one was
        // allocated (the bench saw its greeting first); that reload was sent before, skip it.
        if (confirmed - took < ms_between(s.created_at, *allocated_at)) continue;
        to_allocated.push_back(ms_between(s.created_at, *allocated_at));
        to_reload_sent.push_back(confirmed - took - to_allocated.back());
        reload.push_back(took);
        to_greeting.push_back(s.accepting_ms - confirmed);
        break;
      }
    }
    return {{"created_to_allocated_ms_p50", round3(percentile(to_allocated, 0.5))},
            {"allocated_to_reload_sent_ms_p50", round3(percentile(to_reload_sent, 0.5))},
            {"reload_took_ms_p50", round3(percentile(reload, 0.5))},
            {"reload_confirmed_to_greeting_ms_p50", round3(percentile(to_greeting, 0.5))},
            {"samples_matched_in_log", reload.size()}};
  }

  // Median wall time of `haproxy -c` on the running config: part of every reload.
  double haproxy_check_ms() {
    std::vector<double> ms;
    for (int i = 0; i < 3; ++i) {
      const auto start = SteadyClock::now();
      auto checked = berth::testing::run_command({"/usr/sbin/haproxy", "-c", "-q", "-f", cluster_.config_path().string()}, 30s);
      if (!checked || checked->exit_code != 0) return -1;
      ms.push_back(Ms(SteadyClock::now() - start).count());
    }
    return round3(percentile(ms, 0.5));
  }

  // New Service → port accepting, `count` samples with about `scale` Services exposed; each
  // sample is spaced so that --min-reload-interval has passed, and (with back_to_back) a second
  // series right after the previous one was served.
  int new_service_latency(const std::string& scale, int count, bool back_to_back) {
    const long interval_ms = duration_ms(p_.min_reload_interval);
    const long spacing_ms = interval_ms + 250;
    std::vector<bool> series = {true};
    if (back_to_back) series.insert(series.begin(), false);
    for (const bool spaced : series) {
      std::vector<double> allocated, accepting;
      std::vector<NewService> samples;
      const std::size_t lines = reload_lines(), services_before = on_base_.size();
      for (int i = 0; i < count; ++i) {
        // The spacing is the load pattern being measured, not a wait for a condition.
        if (spaced) std::this_thread::sleep_for(std::chrono::milliseconds(spacing_ms));
        auto sample = one_new_service(fmt::format("{}-at-{}-{}", spaced ? "spaced" : "next", scale, i));
        if (!sample) return fail("a new Service was not served in 30 s");
        allocated.push_back(sample->allocated_ms);
        accepting.push_back(sample->accepting_ms);
        samples.push_back(*sample);
      }
      const auto took = reload_took_since(lines);
      nlohmann::json params = {{"services_before", services_before},
                               {"samples", count},
                               {"spacing", spaced ? fmt::format("{} ms after the previous was served", spacing_ms)
                                                  : "back to back: each right after the previous was served"},
                               {"annotation_seen_p50_ms", round3(percentile(allocated, 0.5))},
                               {"annotation_seen_p99_ms", round3(percentile(allocated, 0.99))},
                               {"max_ms", round3(percentile(accepting, 1.0))},
                               {"reload_took_ms_max", percentile(took, 1.0)},
                               {"haproxy_check_ms", haproxy_check_ms()},
                               {"from_berth_log", breakdown(samples)}};
      // The spaced series is the figure of the issue; back to back shows the reload interval.
      const std::string kind = spaced ? "" : "back_to_back_";
      for (const auto& [suffix, p] : {std::pair{"p50", 0.5}, std::pair{"p99", 0.99}}) {
        nlohmann::json figure = {{"name", fmt::format("service_created_to_accepting_{}at_{}_{}", kind, scale, suffix)},
                                 {"value", round3(percentile(accepting, p))},
                                 {"unit", "ms"},
                                 {"goal", std::string(suffix) == "p99" ? nlohmann::json(300) : nlohmann::json(nullptr)}};
        figure.update(params);
        print(figure);
      }
    }
    return 0;
  }

  // Step 3.
  int endpoint_changes() {
    EchoServer a("endpoint-a", "127.0.0.3"), b("endpoint-b", "127.0.0.4");
    if (!a.ok() || !b.ok()) return fail("echo servers on 127.0.0.3/4 did not start");
    auto& api = cluster_.kube().api();
    const std::string name = "moving";
    if (!api.create(kube::kServices, "default", service_object(name, true)) ||
        !api.create(kube::kEndpointSlices, "default", slice_object(name, a, "127.0.0.3"))) {
      return fail("cannot create the moving Service");
    }
    auto port = cluster_.wait_for_host_port(name, kServicePort);
    if (!port) return fail("the moving Service got no host port");
    auto greets = [&](const EchoServer& s) {
      auto g = greeting_at("127.0.0.1", *port, 1s);
      return g && *g == s.name();
    };
    if (!eventually([&] { return greets(a); }, 30s)) return fail("the moving Service was not served");
    ++checked_;
    settle(std::chrono::milliseconds(duration_ms(p_.min_reload_interval) + 500), 30s);
    const auto before = master_reloads();
    const std::size_t logged = cluster_.reloads();
    std::vector<double> ms;
    for (int i = 0; i < p_.samples; ++i) {
      const EchoServer& to = i % 2 == 0 ? b : a;
      const std::string address = i % 2 == 0 ? "127.0.0.4" : "127.0.0.3";
      const auto start = SteadyClock::now();
      if (!api.patch(kube::kEndpointSlices, "default", name + "-1", kube::PatchType::kMerge,
                     slice_endpoints(to, address))) {
        return fail("cannot patch the moving Service's slice");
      }
      if (!eventually([&] { return greets(to); }, 10s, 1ms)) return fail("the new endpoint did not answer in 10 s");
      ms.push_back(Ms(SteadyClock::now() - start).count());
    }
    const auto after = master_reloads();
    if (!before || !after) return fail("no answer to show proc");
    nlohmann::json params = {{"samples", p_.samples}, {"services_before", checked_ - 1}};
    for (const auto& [suffix, p] : {std::pair{"p50", 0.5}, std::pair{"p99", 0.99}}) {
      nlohmann::json figure = {{"name", fmt::format("endpoint_change_to_new_endpoint_{}", suffix)},
                               {"value", round3(percentile(ms, p))},
                               {"unit", "ms"},
                               {"goal", std::string(suffix) == "p99" ? nlohmann::json(100) : nlohmann::json(nullptr)},
                               {"max_ms", round3(percentile(ms, 1.0))}};
      figure.update(params);
      print(figure);
    }
    print({{"name", "endpoint_change_reloads"},
           {"value", *after - *before},
           {"unit", "count"},
           {"goal", 0},
           {"berth_logged_reloads", cluster_.reloads() - logged},
           {"samples", p_.samples}});
    return 0;
  }

  // Steps 4 and 5.
  int reloads_under_load() {
    EchoServer held_db("held", "127.0.0.5");
    if (!held_db.ok()) return fail("the echo server on 127.0.0.5 did not start");
    auto& api = cluster_.kube().api();
    if (!api.create(kube::kServices, "default", service_object("held", true)) ||
        !api.create(kube::kEndpointSlices, "default", slice_object("held", held_db, "127.0.0.5"))) {
      return fail("cannot create the held Service");
    }
    auto port = cluster_.wait_for_host_port("held", kServicePort);
    if (!port) return fail("the held Service got no host port");
    if (!eventually(
            [&] {
              auto g = greeting_at("127.0.0.1", *port, 1s);
              return g && *g == "held";
            },
            30s)) {
      return fail("the held Service was not served");
    }
    // HAProxy serves the port a moment before berth confirms and logs the reload; the churn below
    // waits for berth's reload lines by count, so the one that added "held" must be in first.
    // (Otherwise it is taken for the first churn Service's, whose creation and deletion can then
    // fall into one gather delay and cause no reload at all.)
    if (auto logged = cluster_.berth().wait_for_log(fmt::format("(default/held:{})", kServicePort), 30s); !logged) {
      return fail("berth did not log the reload that added the held Service: " + logged.error().describe());
    }
    ++checked_;
    std::vector<std::unique_ptr<TcpClient>> sessions;
    for (int i = 0; i < kHeldSessions; ++i) {
      auto s = TcpClient::connect("127.0.0.1", *port, 2s);
      if (!s) return fail("cannot open held session: " + s.error().describe());
      if (auto line = (*s)->read_line(2s); !line || *line != "held") return fail("a held session got no greeting");
      sessions.push_back(std::move(*s));
    }

    std::atomic<bool> stop{false}, cut_short{false};
    std::atomic<int> attempts{0}, failures{0};
    std::string first_failure;
    std::mutex first_failure_mutex;
    const auto probe_deadline = SteadyClock::now() + 400s;
    std::vector<std::jthread> probers;
    for (int t = 0; t < kProbers; ++t) {
      probers.emplace_back([&] {
        while (!stop.load()) {
          if (attempts.fetch_add(1) >= kProbeLimit || SteadyClock::now() >= probe_deadline) {
            cut_short = true;  // the reloads after this are not covered; the figure says so
            break;
          }
          auto g = greeting_at("127.0.0.1", *port, 2s);
          if (!g || *g != "held") {
            std::lock_guard lock(first_failure_mutex);
            if (failures++ == 0) first_failure = g ? "greeting " + *g : g.error().describe();
          }
        }
      });
    }

    const std::size_t logged = cluster_.reloads(), lines = reload_lines();
    const auto before = master_reloads();
    const auto start = SteadyClock::now();
    int done = 0;
    std::string churn_error;
    for (int i = 0; i < p_.reloads; ++i) {
      const std::string name = fmt::format("churn-{}", i / 2);
      const bool ok = i % 2 == 0 ? api.create(kube::kServices, "default", service_object(name, false)).has_value()
                                 : api.remove(kube::kServices, "default", name).has_value();
      if (!ok) {
        churn_error = "cannot create or delete " + name;
        break;
      }
      if (auto reloaded = cluster_.berth().wait_for_log("haproxy reloaded", 30s, logged + i + 1); !reloaded) {
        churn_error = "reload " + std::to_string(i + 1) + ": " + reloaded.error().describe();
        break;
      }
      ++done;
    }
    const double churn_s = Seconds(SteadyClock::now() - start).count();
    stop = true;
    for (auto& p : probers) p.join();
    if (!churn_error.empty()) return fail(churn_error);
    int cut = 0;
    for (auto& s : sessions) cut += s->round_trip("still here", 2s) ? 0 : 1;
    auto status = cluster_.haproxy_status();
    if (!status || !before) return fail("no answer to show proc");
    const auto took = reload_took_since(lines);
    print({{"name", "failed_connections_during_100_reloads"},
           {"value", failures.load()},
           {"unit", "count"},
           {"goal", 0},
           {"new_connections", std::min(attempts.load(), kProbeLimit)},
           {"first_failure", first_failure},
           {"probed_every_reload", !cut_short.load()},
           {"probers", kProbers},
           {"reloads", status->master.reloads - *before},
           {"berth_logged_reloads", done},
           {"seconds", round3(churn_s)},
           {"listeners", last_field(cluster_.berth().log(), "haproxy reloaded", "listeners")},
           {"reload_took_ms_p50", percentile(took, 0.5)},
           {"reload_took_ms_max", percentile(took, 1.0)}});
    print({{"name", "held_sessions_cut"}, {"value", cut}, {"unit", "count"}, {"goal", 0}, {"held", kHeldSessions}});

    const auto memory = old_worker_memory(*status);
    print({{"name", "old_workers_after_100_reloads"},
           {"value", status->old_workers().size()},
           {"unit", "count"},
           {"goal", "counted (lingering old workers)"},
           {"held_sessions", kHeldSessions - cut},
           {"old_workers_rss_bytes", memory.rss_kb * 1024},
           {"old_workers_pss_bytes", memory.pss_kb * 1024},
           {"current_worker_rss_bytes", memory.current_kb * 1024}});
    sessions.clear();
    return 0;
  }

  // Step 6.
  int big() {
    std::vector<std::string> names;
    for (int i = checked_; i < p_.big; ++i) names.push_back(fmt::format("big-{}", i));
    const std::size_t lines = reload_lines();
    const auto start = SteadyClock::now();
    if (int failed = create_all(names, false); failed > 0) return fail(fmt::format("{} creates failed", failed));
    // Steps 3 and 4's echo servers are gone; their two Services stay, unserved.
    std::vector<std::string> all = on_base_;
    all.insert(all.end(), names.begin(), names.end());
    auto done = wait_all_greet(all, base_.name(), 300s);
    if (!done) return fail(fmt::format("the {} Services did not all greet", all.size()));
    const double all_s = Seconds(*done - start).count();
    const long berth_hwm = proc_status_kb(cluster_.berth().pid(), "VmHWM") * 1024;
    const long berth_rss = proc_status_kb(cluster_.berth().pid(), "VmRSS") * 1024;
    std::error_code ec;
    const auto config_bytes = std::filesystem::file_size(cluster_.config_path(), ec);
    auto status = cluster_.haproxy_status();
    const long worker_kb =
        status && status->current_worker() ? proc_status_kb(*status->current_worker(), "VmRSS") : -1;
    nlohmann::json params = {{"services", checked_ + names.size()}, {"checked_services", checked_}};
    nlohmann::json figure = {{"name", "berth_peak_rss"},
                             {"value", berth_hwm},
                             {"unit", "bytes"},
                             {"goal", 64 * 1024 * 1024},
                             {"berth", "ran every step before"},
                             {"berth_rss_now_bytes", berth_rss},
                             {"haproxy_cfg_bytes", ec ? -1 : static_cast<long>(config_bytes)},
                             {"added", names.size()},
                             {"added_to_all_accepting_s", round3(all_s)},
                             {"reloads_while_adding", reload_took_since(lines).size()},
                             {"reload_took_ms_max", percentile(reload_took_since(lines), 1.0)},
                             {"haproxy_worker_rss_bytes", worker_kb * 1024}};
    figure.update(params);
    print(figure);

    // Cold start: no HAProxy, berth syncs every Service and starts one with every listener.
    if (auto stopped = cluster_.berth().stop(); !stopped || *stopped != 0) return fail("berth did not stop cleanly");
    if (!cluster_.stop_haproxy()) return fail("HAProxy did not stop");
    const std::size_t starts = cluster_.starts(), start_lines = took_ms(cluster_.berth().log(), kStartLine).size(),
                      synced = cluster_.berth().count_in_log("caches synced");
    const auto restart = SteadyClock::now();
    if (!cluster_.berth().start()) return fail("berth did not start again");
    if (auto ok = cluster_.berth().wait_for_log("caches synced", 120s, synced + 1); !ok) {
      return fail("no cache sync after the restart: " + ok.error().describe());
    }
    const double synced_s = Seconds(SteadyClock::now() - restart).count();
    if (auto up = cluster_.berth().wait_for_log("haproxy started", 300s, starts + 1); !up) {
      return fail("HAProxy was not started after the restart: " + up.error().describe());
    }
    const double started_s = Seconds(SteadyClock::now() - restart).count();
    cluster_.watch();
    auto again = wait_all_greet(all, base_.name(), 300s);
    if (!again) return fail("not every Service greets after the restart");
    const double accepting_s = Seconds(*again - restart).count();
    const auto start_took = took_ms(cluster_.berth().log(), kStartLine);
    figure = {{"name", "full_sync_to_haproxy_started"},
              {"value", round3(started_s)},
              {"unit", "s"},
              {"goal", 1.0},
              {"caches_synced_s", round3(synced_s)},
              {"haproxy_start_took_ms", start_took.size() > start_lines ? start_took.back() : -1},
              {"all_accepting_s", round3(accepting_s)},
              {"listeners", last_field(cluster_.berth().log(), "haproxy started", "listeners")}};
    figure.update(params);
    print(figure);
    figure = {{"name", "berth_peak_rss_cold_start"},
              {"value", proc_status_kb(cluster_.berth().pid(), "VmHWM") * 1024},
              {"berth_rss_now_bytes", proc_status_kb(cluster_.berth().pid(), "VmRSS") * 1024},
              {"unit", "bytes"},
              {"goal", 64 * 1024 * 1024},
              {"berth", "started with every Service there, HAProxy not running"}};
    figure.update(params);
    print(figure);
    on_base_.insert(on_base_.end(), names.begin(), names.end());
    return 0;
  }

  Params p_;
  EchoServer& base_;
  DataplaneCluster cluster_;
  nlohmann::json common_;
  std::vector<std::string> on_base_;  // Services served by base_
  std::vector<std::unique_ptr<TcpClient>> seed_sessions_;  // held from before the burst
  std::size_t services_when_held_ = 0;
  std::optional<int> reloads_before_held_;
  int checked_ = 0;                   // Services with health checks (all but step 6's and the churn)
};

int run(const Params& p) {
  berth::set_log_level("warn");
  EchoServer base("base", "127.0.0.2");
  if (!base.ok()) {
    std::fprintf(stderr, "dataplane_bench: no echo server on 127.0.0.2\n");
    return 1;
  }
  Bench bench(p, base);
  return bench.run();
}

}  // namespace

int main(int argc, char** argv) {
  Params p;
  const std::string usage = fmt::format(
      "usage: {} [--services N] [--big N] [--samples N] [--scale-samples N] [--reloads N] [--gather-delay D] "
      "[--min-reload-interval D] [--kube-api-qps Q]\n",
      argv[0]);
  try {
    for (int i = 1; i < argc; i += 2) {
      const std::string flag = argv[i];
      if (i + 1 >= argc) {
        std::fputs(usage.c_str(), stderr);
        return 2;
      }
      const std::string value = argv[i + 1];
      if (flag == "--services") {
        p.services = std::stoi(value);
      } else if (flag == "--big") {
        p.big = std::stoi(value);
      } else if (flag == "--samples") {
        p.samples = std::stoi(value);
      } else if (flag == "--scale-samples") {
        p.scale_samples = std::stoi(value);
      } else if (flag == "--reloads") {
        p.reloads = std::stoi(value);
      } else if ((flag == "--gather-delay" || flag == "--min-reload-interval") && !berth::parse_go_duration(value)) {
        std::fprintf(stderr, "%s: not a duration: %s\n", flag.c_str(), value.c_str());
        return 2;
      } else if (flag == "--gather-delay") {
        p.gather_delay = value;
      } else if (flag == "--min-reload-interval") {
        p.min_reload_interval = value;
      } else if (flag == "--kube-api-qps") {
        p.qps = value;
      } else {
        std::fputs(usage.c_str(), stderr);
        return 2;
      }
    }
    return run(p);
  } catch (const std::exception& e) {
    // Caught here so that the stack unwinds: the guards stop berth, HAProxy and kube-sim.
    std::fprintf(stderr, "dataplane_bench: %s\n", e.what());
    return 1;
  }
}
