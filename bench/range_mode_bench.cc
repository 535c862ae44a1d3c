// Range mode against the per-port mode (issue 8): the berth binary, the HAProxy it starts and
// kube-sim over loopback, TCP echo servers (test/support/echo_server.h) standing in for
// databases; the same steps in each listen mode, so the figures stand side by side.
//
//   range_mode_bench [--listen-mode both|range|port] [--big N] [--samples N] [--churn N]
//                    [--range-backend-chunk N] [--gather-delay D] [--min-reload-interval D]
//                    [--berth-log-dir DIR]   (each mode's berth log is copied there at its end)
//                    [--berth-log-level info|debug]   (debug: each sync's and update's timings)
//
// For each listen mode (range first), a kube-sim, a berth and its HAProxy of their own, host
// ports 20000-29999 and 32000-32767 on 127.0.0.1 (docs/development.md), berth's own defaults
// for the delays unless given, --haproxy-maxconn 1000:
// 1. new Service → host port greeting at 1, 100, 1,000 and `big` (10,000) exposed Services:
//    a Service + EndpointSlice created, then polled until its port greets; one warm-up (its
//    time reported apart as `warmup_ms`), then `samples` times, each more than
//    --min-reload-interval after the previous was served (so the per-port mode
//    is measured reloading, not waiting for its interval). Goals p99 ≤ 50 ms in range mode
//    (issue 8) and ≤ 300 ms in the per-port mode (issue 4); in range mode also 0 reloads over
//    the samples. Between the scales, Services are added by 8 clients at once ("fill") until
//    all greet: the time and the reloads it took (in range mode those are the layout's growth:
//    a settings kind out of free backends grows by --range-backend-chunk in one reload).
// 2. at `big`: berth's VmRSS and VmHWM, HAProxy's worker VmRSS and PSS, the config's size.
// 3. range mode only, at `big`: 200 sessions held on the first Service, 3 threads connecting
//    to it all along, and `churn` (1,000) Services created and deleted by 8 clients (each:
//    create, poll until its port greets, delete, poll until it no longer does). Goals 0 reloads,
//    0 old workers afterwards, 0 failed connections, 0 held sessions cut. The per-port mode
//    would reload for every one of these; bench/dataplane_bench measures what that costs.
//
// Health checks cost HAProxy one fd per checked server slot, free and disabled ones too, and
// range mode binds every pool port (10,768 fds) whatever is exposed; with 2 × maxconn that
// leaves about 7,000 fds of the 20,000 open-files limit. So the filled Services carry
// `haproxy-ingress/check: none`, and only the sampled, held and churned ones are checked: in
// range mode they are all of one settings kind, whose free backends are pre-made in chunks, and
// a growth of the fills' kind can never fall inside a sample. --port-quarantine 0s: the churn
// at 10,000 Services would otherwise leave fewer free ports than it releases.
//
// Prints one JSON object per figure on stdout ("goal" and "met" where an issue gives a goal).
// Traffic goes only to 127.0.0.0/8; every loop is bounded in count and time; every HAProxy
// process is stopped by PID at the end of each mode (DataplaneCluster's HaproxyGuard), also
// when a step fails.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
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
#include "common/atomic_file.h"
#include "common/go_duration.h"
#include "common/log.h"
#include "haproxy/master_cli.h"
#include "kube/resource.h"
#include "support/dataplane_cluster.h"
#include "support/echo_server.h"
#include "support/eventually.h"

namespace {

using namespace std::chrono_literals;
namespace kube = berth::kube;
using berth::bench::haproxy_version;
using berth::bench::log_lines;
using berth::bench::ms_between;
using berth::bench::percentile;
using berth::bench::proc_status_kb;
using berth::bench::pss_kb;
using berth::bench::round3;
using berth::bench::time_of_day;
using berth::testing::DataplaneCluster;
using berth::testing::EchoServer;
using berth::testing::eventually;
using berth::testing::greeting_at;
using berth::testing::TcpClient;
using SteadyClock = std::chrono::steady_clock;
using Ms = std::chrono::duration<double, std::milli>;
using Seconds = std::chrono::duration<double>;

constexpr int kServicePort = 3306;
constexpr int kClients = 8;
constexpr int kHeldSessions = 200;
constexpr int kProbers = 3;
constexpr int kProbeLimit = 2000000;  // new connections over all probers, at most
constexpr int kMaxconn = 1000;
// How often each churn client polls the API and the port: 8 clients polling every millisecond
// made connections and GETs enough to slow berth, kube-sim and HAProxy on 2 cores.
constexpr auto kChurnPoll = std::chrono::milliseconds(5);
constexpr long kBerthRssGoal = 64L * 1024 * 1024;  // issue 5's goal for berth at 10,000 Services
const std::string kReloaded = "haproxy reloaded";

struct Params {
  std::vector<std::string> modes = {"range", "port"};
  int big = 10000;
  int samples = 20;
  int churn = 1000;
  int chunk = 1024;
  std::string berth_log_dir;  // when set, each mode's berth log is copied there at its end
  std::string berth_log_level = "info";  // debug: each sync's and runtime update's timings
  // berth's own defaults unless given (reported in every JSON line); the gather delay's
  // depends on the listen mode.
  std::string gather_delay;
  std::string min_reload_interval = berth::format_go_duration(berth::app::DataplaneOptions{}.min_reload_interval);
};

// The goal of a new Service's p99 in each mode, ms.
double latency_goal(const std::string& mode) { return mode == "range" ? 50 : 300; }

nlohmann::json service_object(const std::string& name, bool checked) {
  nlohmann::json annotations = {{"ingress", "haproxy-ingress"}};
  if (!checked) annotations["haproxy-ingress/check"] = "none";
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"annotations", annotations}}},
          {"spec",
           {{"ports", {{{"name", "db"}, {"port", kServicePort}, {"protocol", "TCP"}, {"targetPort", kServicePort}}}}}}};
}

// The EndpointSlice "<service>-1": one ready endpoint, `server` at `address`.
nlohmann::json slice_object(const std::string& service, const EchoServer& server, const std::string& address) {
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata", {{"name", service + "-1"}, {"labels", {{"kubernetes.io/service-name", service}}}}},
          {"addressType", "IPv4"},
          {"endpoints", {{{"addresses", {address}}, {"conditions", {{"ready", true}}}}}},
          {"ports", {{{"name", "db"}, {"port", server.port()}, {"protocol", "TCP"}}}}};
}

// The host port of `object`'s Service port, once berth has written it.
std::optional<int> host_port_of(const nlohmann::json& object) {
  const auto annotations = object["metadata"].value("annotations", nlohmann::json::object());
  const auto it = annotations.find("haproxy-ingress/" + std::to_string(kServicePort));
  if (it == annotations.end() || !it->is_string()) return std::nullopt;
  return std::stoi(it->get<std::string>());
}

// The number after " key=" on `line`; -1 if none.
long field_of(const std::string& line, const std::string& key) {
  const auto k = line.find(" " + key + "=");
  return k == std::string::npos ? -1 : std::stol(line.substr(k + key.size() + 2));
}

// The text between `reasons="` and the closing quote on `line`.
std::string reasons_of(const std::string& line) {
  const auto at = line.find("reasons=\"");
  if (at == std::string::npos) return "";
  const auto end = line.rfind('"');
  return end > at + 9 ? line.substr(at + 9, end - at - 9) : "";
}

class ModeBench {
 public:
  ModeBench(const Params& p, std::string mode, EchoServer& base)
      : p_(p), mode_(std::move(mode)), base_(base), cluster_({.port_ranges = {{20000, 29999}, {32000, 32767}},
                                                                 .flags = flags(p, mode_)}) {
    common_ = {{"bench", "range_mode"},
               {"listen_mode", mode_},
               {"cores", std::thread::hardware_concurrency()},
               {"haproxy_version", haproxy_version()},
               {"gather_delay", gather_delay(p, mode_)},
               {"min_reload_interval", p.min_reload_interval},
               {"check_interval", "2s"},
               {"haproxy_maxconn", kMaxconn},
               {"port_quarantine", "0s"}};
    if (range()) common_["range_backend_chunk"] = p.chunk;
  }

  int run() {
    const int status = steps();
    if (!p_.berth_log_dir.empty()) {
      const auto path = std::filesystem::path(p_.berth_log_dir) / fmt::format("berth-{}-mode.log", mode_);
      if (!berth::write_file_atomically(path, cluster_.berth().log())) {
        std::fprintf(stderr, "range_mode_bench: cannot write %s\n", path.c_str());
      }
    }
    return status;
  }

 private:
  int steps() {
    if (auto up = cluster_.start(); !up) return fail("berth did not start HAProxy: " + up.error().describe());
    if (!one_new_service("seed")) return fail("the seed Service was not served");
    std::vector<int> scales;
    for (int scale : {1, 100, 1000}) {
      if (scale < p_.big) scales.push_back(scale);
    }
    scales.push_back(std::max(1, p_.big));
    for (int scale : scales) {
      // The memory figures at the largest scale, before its samples add their few Services.
      if (fill_to(scale, scale == scales.back()) || new_service_latency(scale)) return 1;
    }
    return range() && p_.churn > 0 ? churn() : 0;
  }

  static std::string gather_delay(const Params& p, const std::string& mode) {
    return p.gather_delay.empty() ? berth::app::default_gather_delay(mode) : p.gather_delay;
  }

  static std::map<std::string, std::string> flags(const Params& p, const std::string& mode) {
    std::map<std::string, std::string> f = {{"--listen-mode", mode},
                                            {"--gather-delay", gather_delay(p, mode)},
                                            {"--min-reload-interval", p.min_reload_interval},
                                            {"--check-interval", "2s"},
                                            {"--haproxy-check-period", "5s"},
                                            {"--haproxy-maxconn", std::to_string(kMaxconn)},
                                            {"--kube-api-qps", "500"},
                                            {"--kube-api-burst", "500"},
                                            {"--port-quarantine", "0s"},
                                            {"--log-level", p.berth_log_level}};
    if (mode == "range") f["--range-backend-chunk"] = std::to_string(p.chunk);
    return f;
  }

  bool range() const { return mode_ == "range"; }
  std::string name(const std::string& figure) const { return fmt::format("{}_mode_{}", mode_, figure); }

  void print(nlohmann::json figure) {
    figure.update(common_);
    std::printf("%s\n", figure.dump().c_str());
    std::fflush(stdout);
  }

  int fail(const std::string& what) {
    std::fprintf(stderr, "range_mode_bench (%s mode): %s\n--- berth's log (last 4000 bytes) ---\n%s\n", mode_.c_str(),
                 what.c_str(), tail(cluster_.berth().log(), 4000).c_str());
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

  // berth's "haproxy reloaded" lines after the first `skip`.
  std::vector<std::string> reload_lines_after(std::size_t skip) {
    std::vector<std::string> out;
    std::size_t seen = 0;
    for (const auto& line : log_lines(cluster_.berth().log())) {
      if (line.text.find(kReloaded) == std::string::npos) continue;
      if (seen++ >= skip) out.push_back(line.text);
    }
    return out;
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

  // Polls until every Service of `names` has a host port that greets with base_'s name: the
  // annotations by LIST, the ports by connecting. The time the last one greeted, or nullopt
  // when `timeout` passes first.
  std::optional<SteadyClock::time_point> wait_all_greet(const std::vector<std::string>& names,
                                                        std::chrono::seconds timeout) {
    std::set<std::string> pending(names.begin(), names.end());
    std::optional<SteadyClock::time_point> last;
    const auto deadline = SteadyClock::now() + timeout;
    while (!pending.empty()) {
      if (SteadyClock::now() >= deadline) {
        std::fprintf(stderr, "range_mode_bench: %zu Services still not greeting, e.g. %s\n", pending.size(),
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
          if (auto port = host_port_of(item)) ports[name] = *port;
        }
        if (list->continue_token.empty()) break;
        options.continue_token = list->continue_token;
      }
      bool progressed = false;
      for (const auto& [name, port] : ports) {
        auto g = greeting_at("127.0.0.1", port, 500ms);
        if (g && *g == base_.name()) {
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

  // Adds unchecked Services until `exposed` are served and prints what it took; with
  // `memory`, then the memory of berth and HAProxy.
  int fill_to(int exposed, bool memory) {
    std::vector<std::string> names;
    for (int i = static_cast<int>(served_); i < exposed; ++i) names.push_back(fmt::format("fill-{}", i));
    if (names.empty()) return memory ? memory_at(exposed) : 0;
    const std::size_t logged = cluster_.reloads();
    const auto before = master_reloads();
    if (!before) return fail("no answer to show proc");
    const auto start = SteadyClock::now();
    if (int failed = create_all(names, false); failed > 0) return fail(fmt::format("{} creates failed", failed));
    const double created_s = Seconds(SteadyClock::now() - start).count();
    auto done = wait_all_greet(names, 600s);
    if (!done) return fail(fmt::format("the {} Services added up to {} did not all greet", names.size(), exposed));
    served_ += names.size();
    // The trailing reload of a burst (the per-port mode) belongs to it, not to the samples after.
    settle();
    const auto after = master_reloads();
    if (!after) return fail("no answer to show proc");
    const auto lines = reload_lines_after(logged);
    std::size_t growth = 0;
    std::map<std::string, int> other_reasons;
    for (const auto& line : lines) {
      const std::string why = reasons_of(line);
      if (why.find("has no free backend") != std::string::npos) {
        ++growth;
      } else {
        ++other_reasons[why.substr(0, 120)];
      }
    }
    nlohmann::json figure = {{"name", name(fmt::format("fill_to_{}_all_accepting", exposed))},
                             {"value", round3(Seconds(*done - start).count())},
                             {"unit", "s"},
                             {"added", names.size()},
                             {"clients", kClients},
                             {"create_seconds", round3(created_s)},
                             {"reloads", *after - *before},
                             {"berth_logged_reloads", lines.size()}};
    if (range()) {
      figure["growth_reloads"] = growth;
      figure["other_reload_reasons"] = other_reasons;
      figure["backends"] = backends();
    }
    print(figure);
    return memory ? memory_at(exposed) : 0;
  }

  // Waits until berth has logged no reload for --min-reload-interval + 1 s, at most 60 s.
  void settle() {
    const auto quiet = std::chrono::milliseconds(interval_ms() + 1000);
    const auto deadline = SteadyClock::now() + 60s;
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

  long interval_ms() const {
    auto parsed = berth::parse_go_duration(p_.min_reload_interval);  // main() validated it
    return parsed ? static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(*parsed).count()) : 0;
  }

  // The backends of range mode's layout, from berth's last start or reload line.
  long backends() {
    const std::string log = cluster_.berth().log();
    const auto at = log.rfind("(range mode) worker=");
    return at == std::string::npos ? -1 : field_of(log.substr(at, log.find('\n', at) - at), "backends");
  }

  int memory_at(int exposed) {
    auto status = cluster_.haproxy_status();
    if (!status || !status->current_worker()) return fail("no answer to show proc");
    const pid_t worker = *status->current_worker();
    std::error_code ec;
    const auto config_bytes = std::filesystem::file_size(cluster_.config_path(), ec);
    nlohmann::json params = {{"services", served_}, {"checked_services", checked_}};
    const long berth_hwm = proc_status_kb(cluster_.berth().pid(), "VmHWM") * 1024;
    nlohmann::json figure = {{"name", name(fmt::format("berth_rss_at_{}", exposed))},
                             {"value", proc_status_kb(cluster_.berth().pid(), "VmRSS") * 1024},
                             {"unit", "bytes"},
                             {"goal", kBerthRssGoal},
                             {"met", berth_hwm <= kBerthRssGoal},
                             {"goal_applies_to", "berth_peak_rss_bytes (VmHWM)"},
                             {"berth_peak_rss_bytes", berth_hwm}};
    figure.update(params);
    print(figure);
    figure = {{"name", name(fmt::format("haproxy_worker_rss_at_{}", exposed))},
              {"value", proc_status_kb(worker, "VmRSS") * 1024},
              {"unit", "bytes"},
              {"goal", "counted"},
              {"worker_pss_bytes", pss_kb(worker) * 1024},
              {"master_rss_bytes", proc_status_kb(status->master.pid, "VmRSS") * 1024},
              {"old_workers", status->old_workers().size()},
              {"haproxy_cfg_bytes", ec ? -1 : static_cast<long>(config_bytes)}};
    if (range()) figure["backends"] = backends();
    figure.update(params);
    print(figure);
    return 0;
  }

  struct NewService {
    std::string name;
    double created_at = 0;  // local time of day, s, as berth's log writes it
    double allocated_ms = 0, accepting_ms = 0;
  };

  // One new checked Service + slice: ms until its annotation is readable, ms until its port greets.
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
    ++served_;
    ++checked_;
    return NewService{name, created_at, allocated, Ms(SteadyClock::now() - start).count()};
  }

  // New Service → port greeting, `samples` times at `scale` exposed Services, each spaced more
  // than --min-reload-interval after the previous was served.
  int new_service_latency(int scale) {
    const long spacing_ms = interval_ms() + 250;
    std::vector<double> allocated, accepting;
    // One warm-up Service first, reported apart (`warmup_ms`): the first creation after a fill
    // pays for the fill's aftermath (seen: kube-sim answering the Service's and the slice's
    // creation 40 ms apart, seconds after the fill's last reload), which is not the steady state
    // the samples measure.
    std::this_thread::sleep_for(std::chrono::milliseconds(spacing_ms));
    auto warmup = one_new_service(fmt::format("warmup-at-{}", scale));
    if (!warmup) return fail("a new Service was not served in 30 s");
    const auto before = master_reloads();
    const std::size_t logged = cluster_.reloads(), services_before = served_;
    if (!before) return fail("no answer to show proc");
    std::vector<NewService> samples;
    for (int i = 0; i < p_.samples; ++i) {
      // The spacing is the load pattern being measured, not a wait for a condition.
      std::this_thread::sleep_for(std::chrono::milliseconds(spacing_ms));
      auto sample = one_new_service(fmt::format("sample-at-{}-{}", scale, i));
      if (!sample) return fail("a new Service was not served in 30 s");
      allocated.push_back(sample->allocated_ms);
      accepting.push_back(sample->accepting_ms);
      samples.push_back(*sample);
    }
    const auto after = master_reloads();
    if (!after) return fail("no answer to show proc");
    // Where the time went, from berth's log: created → its "allocated" line, then the rest.
    const auto lines = log_lines(cluster_.berth().log());
    std::vector<double> allocated_after_ms, served_after_ms;
    for (const auto& s : samples) {
      const std::string marker = "allocated service=default/" + s.name + " ";
      for (const auto& line : lines) {
        if (line.text.find(marker) == std::string::npos) continue;
        allocated_after_ms.push_back(ms_between(s.created_at, line.time_of_day));
        served_after_ms.push_back(s.accepting_ms - allocated_after_ms.back());
        break;
      }
    }
    const double goal = latency_goal(mode_);
    // Which one to look up in berth's log (--berth-log-level debug) when the p99 is its time.
    const NewService& slowest = *std::ranges::max_element(samples, {}, &NewService::accepting_ms);
    nlohmann::json params = {{"services_before", services_before},
                             {"samples", p_.samples},
                             {"spacing", fmt::format("{} ms after the previous was served", spacing_ms)},
                             {"max_ms", round3(percentile(accepting, 1.0))},
                             {"annotation_seen_p50_ms", round3(percentile(allocated, 0.5))},
                             {"slowest_sample", slowest.name},
                             {"warmup_ms", round3(warmup->accepting_ms)},
                             {"created_to_allocated_log_p50_ms", round3(percentile(allocated_after_ms, 0.5))},
                             {"created_to_allocated_log_p99_ms", round3(percentile(allocated_after_ms, 0.99))},
                             {"allocated_log_to_greeting_p50_ms", round3(percentile(served_after_ms, 0.5))},
                             {"allocated_log_to_greeting_p99_ms", round3(percentile(served_after_ms, 0.99))},
                             {"reloads_during_samples", *after - *before},
                             {"berth_logged_reloads", cluster_.reloads() - logged}};
    for (const auto& [suffix, p] : {std::pair{"p50", 0.5}, std::pair{"p99", 0.99}}) {
      const double value = round3(percentile(accepting, p));
      nlohmann::json figure = {{"name", name(fmt::format("service_created_to_accepting_at_{}_{}", scale, suffix))},
                               {"value", value},
                               {"unit", "ms"}};
      if (std::string(suffix) == "p99") {
        figure["goal"] = goal;
        figure["met"] = value <= goal;
      }
      figure.update(params);
      print(figure);
    }
    if (range()) {
      print({{"name", name(fmt::format("reloads_during_new_services_at_{}", scale))},
             {"value", *after - *before},
             {"unit", "count"},
             {"goal", 0},
             {"met", *after == *before},
             {"samples", p_.samples}});
    }
    return 0;
  }

  // Step 3: Services created and deleted by kClients clients while sessions are held on the
  // seed and new connections are made to it all along.
  int churn() {
    auto seed_port = cluster_.host_port("seed", kServicePort);
    if (!seed_port) return fail("the seed Service has no host port");
    std::vector<std::unique_ptr<EchoServer>> servers;
    for (int t = 0; t < kClients; ++t) {
      servers.push_back(std::make_unique<EchoServer>(fmt::format("churn-{}", t), "127.0.0.3"));
      if (!servers.back()->ok()) return fail("an echo server on 127.0.0.3 did not start");
    }
    std::vector<std::unique_ptr<TcpClient>> sessions;
    for (int i = 0; i < kHeldSessions; ++i) {
      auto s = TcpClient::connect("127.0.0.1", *seed_port, 2s);
      if (!s) return fail("cannot open a held session: " + s.error().describe());
      if (auto line = (*s)->read_line(2s); !line || *line != base_.name()) {
        return fail("a held session got no greeting");
      }
      sessions.push_back(std::move(*s));
    }
    auto before = cluster_.haproxy_status();
    if (!before) return fail("no answer to show proc");
    const std::size_t logged = cluster_.reloads();

    std::mutex mu;  // guards the vectors and strings below
    std::vector<double> created_ms, deleted_ms;
    std::string first_failure;
    std::atomic<int> attempts{0}, probe_failures{0}, never_served{0}, still_served{0}, api_failures{0};
    auto note = [&](const std::string& what) {
      std::lock_guard lock(mu);
      if (first_failure.empty()) first_failure = what;
    };
    std::atomic<bool> stop{false}, cut_short{false};
    const auto deadline = SteadyClock::now() + 600s;
    std::vector<std::jthread> probers;
    for (int t = 0; t < kProbers; ++t) {
      probers.emplace_back([&] {
        while (!stop.load()) {
          if (attempts.fetch_add(1) >= kProbeLimit || SteadyClock::now() >= deadline) {
            cut_short = true;  // the rest of the churn is not covered; the figure says so
            break;
          }
          auto g = greeting_at("127.0.0.1", *seed_port, 2s);
          if (!g || *g != base_.name()) {
            ++probe_failures;
            note("seed: " + (g ? "greeting " + *g : g.error().describe()));
          }
        }
      });
    }

    const auto start = SteadyClock::now();
    std::atomic<int> next{0};
    {
      std::vector<std::jthread> clients;
      for (int t = 0; t < kClients; ++t) {
        clients.emplace_back([&, t] {
          auto client = cluster_.kube().connect({.qps = 0, .burst = 1});
          auto& api = client->api();
          const EchoServer& server = *servers[t];
          auto greets_own = [&](int port) {
            auto g = greeting_at("127.0.0.1", port, 1s);
            return g && *g == server.name();
          };
          for (int i = next++; i < p_.churn && SteadyClock::now() < deadline; i = next++) {
            const std::string svc = fmt::format("churn-{}", i);
            const auto created = SteadyClock::now();
            if (!api.create(kube::kServices, "default", service_object(svc, true)) ||
                !api.create(kube::kEndpointSlices, "default", slice_object(svc, server, "127.0.0.3"))) {
              ++api_failures;
              note("cannot create " + svc);
              continue;
            }
            std::optional<int> port;
            eventually(
                [&] {
                  auto object = api.get(kube::kServices, "default", svc);
                  return object && (port = host_port_of(*object)).has_value();
                },
                30s, kChurnPoll);
            if (!port) {
              ++never_served;
              note(svc + " got no host port in 30 s");
            } else if (!eventually([&] { return greets_own(*port); }, 10s, kChurnPoll)) {
              ++never_served;
              note(svc + " was not served in 10 s");
            } else {
              std::lock_guard lock(mu);
              created_ms.push_back(Ms(SteadyClock::now() - created).count());
            }
            const auto removed = SteadyClock::now();
            if (!api.remove(kube::kServices, "default", svc) ||
                !api.remove(kube::kEndpointSlices, "default", svc + "-1")) {
              ++api_failures;
              note("cannot delete " + svc);
              continue;
            }
            // Gone: the port closes at once, or (no quarantine) already serves another Service.
            if (port && !eventually([&] { return !greets_own(*port); }, 10s, kChurnPoll)) {
              ++still_served;
              note(svc + " still served 10 s after its deletion");
            } else if (port) {
              std::lock_guard lock(mu);
              deleted_ms.push_back(Ms(SteadyClock::now() - removed).count());
            }
          }
        });
      }
    }
    const double churn_s = Seconds(SteadyClock::now() - start).count();
    stop = true;
    for (auto& p : probers) p.join();
    int cut = 0;
    for (auto& s : sessions) cut += s->round_trip("still here", 2s) ? 0 : 1;
    sessions.clear();
    auto after = cluster_.haproxy_status();
    if (!after) return fail("no answer to show proc");
    const int reloads = after->master.reloads - before->master.reloads;
    const int failed = probe_failures.load() + never_served.load();
    const nlohmann::json params = {{"services", p_.churn},
                                   {"clients", kClients},
                                   {"exposed_besides", served_},
                                   {"seconds", round3(churn_s)}};
    auto with = [&](nlohmann::json figure) {
      figure.update(params);
      return figure;
    };
    print(with({{"name", name("churn_reloads")},
                {"value", reloads},
                {"unit", "count"},
                {"goal", 0},
                {"met", reloads == 0},
                {"berth_logged_reloads", cluster_.reloads() - logged},
                {"reload_lines", reload_lines_after(logged)}}));
    print(with({{"name", name("churn_old_workers")},
                {"value", after->old_workers().size()},
                {"unit", "count"},
                {"goal", 0},
                {"met", after->old_workers().empty()},
                {"old_workers_before", before->old_workers().size()}}));
    print(with({{"name", name("churn_failed_connections")},
                {"value", failed},
                {"unit", "count"},
                {"goal", 0},
                {"met", failed == 0 && api_failures.load() == 0},
                {"held_service_failures", probe_failures.load()},
                {"held_service_connections", std::min(attempts.load(), kProbeLimit)},
                {"probed_all_along", !cut_short.load()},
                {"churned_never_served", never_served.load()},
                {"churned_still_served_after_delete", still_served.load()},
                {"api_failures", api_failures.load()},
                {"first_failure", first_failure},
                {"created_to_accepting_p50_ms", round3(percentile(created_ms, 0.5))},
                {"created_to_accepting_p99_ms", round3(percentile(created_ms, 0.99))},
                {"deleted_to_closed_p50_ms", round3(percentile(deleted_ms, 0.5))},
                {"deleted_to_closed_p99_ms", round3(percentile(deleted_ms, 0.99))}}));
    print(with({{"name", name("churn_held_sessions_cut")},
                {"value", cut},
                {"unit", "count"},
                {"goal", 0},
                {"met", cut == 0},
                {"held", kHeldSessions}}));
    return 0;
  }

  Params p_;
  std::string mode_;
  EchoServer& base_;
  DataplaneCluster cluster_;
  nlohmann::json common_;
  std::size_t served_ = 0;  // Services served by base_
  int checked_ = 0;         // of them with health checks
};

int run(const Params& p) {
  berth::set_log_level("warn");
  EchoServer base("base", "127.0.0.2");
  if (!base.ok()) {
    std::fprintf(stderr, "range_mode_bench: no echo server on 127.0.0.2\n");
    return 1;
  }
  int status = 0;
  for (const auto& mode : p.modes) {
    // One mode's cluster (kube-sim, berth, HAProxy) is gone before the next binds the same ports.
    ModeBench bench(p, mode, base);
    status |= bench.run();
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  Params p;
  const std::string usage = fmt::format(
      "usage: {} [--listen-mode both|range|port] [--big N] [--samples N] [--churn N] [--range-backend-chunk N] "
      "[--gather-delay D] [--min-reload-interval D] [--berth-log-dir DIR]\n"
      "                        [--berth-log-level info|debug]\n",
      argv[0]);
  try {
    for (int i = 1; i < argc; i += 2) {
      const std::string flag = argv[i];
      if (i + 1 >= argc) {
        std::fputs(usage.c_str(), stderr);
        return 2;
      }
      const std::string value = argv[i + 1];
      if (flag == "--listen-mode" && (value == "both" || value == "range" || value == "port")) {
        p.modes = value == "both" ? std::vector<std::string>{"range", "port"} : std::vector<std::string>{value};
      } else if (flag == "--big") {
        p.big = std::stoi(value);
      } else if (flag == "--samples") {
        p.samples = std::max(1, std::stoi(value));
      } else if (flag == "--churn") {
        p.churn = std::stoi(value);
      } else if (flag == "--berth-log-dir") {
        p.berth_log_dir = value;
      } else if (flag == "--berth-log-level" && (value == "info" || value == "debug")) {
        p.berth_log_level = value;
      } else if (flag == "--range-backend-chunk") {
        p.chunk = std::stoi(value);
      } else if ((flag == "--gather-delay" || flag == "--min-reload-interval") && !berth::parse_go_duration(value)) {
        std::fprintf(stderr, "%s: not a duration: %s\n", flag.c_str(), value.c_str());
        return 2;
      } else if (flag == "--gather-delay") {
        p.gather_delay = value;
      } else if (flag == "--min-reload-interval") {
        p.min_reload_interval = value;
      } else {
        std::fputs(usage.c_str(), stderr);
        return 2;
      }
    }
    if (p.samples < 1 || p.big < 0 || p.churn < 0 || p.chunk < 1) {
      std::fputs(usage.c_str(), stderr);
      return 2;
    }
    return run(p);
  } catch (const std::exception& e) {
    // Caught here so that the stack unwinds: the guards stop berth, HAProxy and kube-sim.
    std::fprintf(stderr, "range_mode_bench: %s\n", e.what());
    return 1;
  }
}
