// The allocator at scale (issue 3): the berth binary against kube-sim over loopback HTTPS.
//
//   allocation_bench [--services N] [--qps Q]
//
// 1. berth starts on an empty cluster (--kube-api-qps Q, default 500), then N marked Services
//    (one TCP port each) are created by 8 clients at once. Figure: seconds from the first
//    create until berth has allocated all N (counted from its log, checked with one LIST).
//    Goal: 10,000 in ≤ 25 s.
// 2. berth's peak RSS (VmHWM) at that point. Goal ≤ 64 MB.
// 3. berth is stopped and started again; seconds from the start until its log says the pool is
//    rebuilt (process start, cache sync, LIST, quarantine read and rebuild). Goal ≤ 2 s.
// Prints one JSON object per figure on stdout.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "common/clock.h"
#include "common/log.h"
#include "kube/kube_client.h"
#include "kube/kube_config.h"
#include "kube/resource.h"
#include "support/berth_process.h"
#include "support/kube_sim_process.h"

namespace {

using namespace std::chrono_literals;
using berth::SystemClock;
namespace kube = berth::kube;
using Seconds = std::chrono::duration<double>;

long peak_rss_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) * 1024;
  }
  return -1;
}

void print(nlohmann::json figure, int services, double qps) {
  figure["services"] = services;
  figure["kube_api_qps"] = qps;
  figure["cores"] = std::thread::hardware_concurrency();
  static const std::string version = berth::bench::haproxy_version();  // not used here; every figure names it
  figure["haproxy_version"] = version;
  std::printf("%s\n", figure.dump().c_str());
  std::fflush(stdout);
}

// Counts Services whose haproxy-ingress/3306 annotation is set, with distinct values.
std::pair<int, int> count_annotated(kube::ApiClient& api) {
  int annotated = 0;
  std::set<std::string> values;
  kube::ListOptions options{.limit = 500};
  while (true) {
    auto page = api.list(kube::kServices, "default", options);
    if (!page) return {-1, -1};
    for (const auto& item : page->items) {
      auto annotations = item["metadata"].value("annotations", nlohmann::json::object());
      if (annotations.contains("haproxy-ingress/3306")) {
        ++annotated;
        values.insert(annotations["haproxy-ingress/3306"].get<std::string>());
      }
    }
    if (page->continue_token.empty()) break;
    options.continue_token = page->continue_token;
  }
  return {annotated, static_cast<int>(values.size())};
}

int run(int services, double qps) {
  berth::set_log_level("warn");
  berth::testing::KubeSimProcess sim;
  if (auto started = sim.start(); !started) {
    std::fprintf(stderr, "kube-sim: %s\n", started.error().describe().c_str());
    return 1;
  }
  auto config = kube::load_kubeconfig(sim.kubeconfig_path());
  if (!config) return 1;
  const std::string qps_text = std::to_string(static_cast<int>(qps));
  berth::testing::BerthProcess berth({"--kubeconfig", sim.kubeconfig_path().string(), "--dataplane=none",
                                      "--port-range", "20000-39999",
                                      "--kube-api-qps", qps_text, "--kube-api-burst", qps_text, "--log-level",
                                      "info"});
  if (!berth.start() || !berth.wait_for_log("port pool rebuilt", 60s)) {
    std::fprintf(stderr, "berth did not start:\n%s\n", berth.log().c_str());
    return 1;
  }

  const auto start = std::chrono::steady_clock::now();
  std::atomic<int> next{0}, failures{0};
  {
    std::vector<std::jthread> writers;
    for (int t = 0; t < 8; ++t) {
      writers.emplace_back([&] {
        auto client = kube::KubeClient::create(*config, {.qps = 0, .burst = 1}, SystemClock::instance());
        for (int i = next++; i < services; i = next++) {
          nlohmann::json svc = {
              {"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", "db-" + std::to_string(i)}, {"annotations", {{"ingress", "haproxy-ingress"}}}}},
              {"spec", {{"ports", {{{"name", "mysql"}, {"port", 3306}}}}}}};
          if (!client->api().create(kube::kServices, "default", svc)) ++failures;
        }
      });
    }
  }
  const double created_s = Seconds(std::chrono::steady_clock::now() - start).count();
  if (failures > 0) {
    std::fprintf(stderr, "%d creates failed\n", failures.load());
    return 1;
  }
  // Bounded: at most 10 minutes.
  if (!berth.wait_for_log("allocated service=", 600s, static_cast<std::size_t>(services))) {
    std::fprintf(stderr, "berth did not allocate all %d Services\n", services);
    return 1;
  }
  const double allocated_s = Seconds(std::chrono::steady_clock::now() - start).count();
  const long rss = peak_rss_bytes(berth.pid());
  auto client = kube::KubeClient::create(*config, {.qps = 0, .burst = 1}, SystemClock::instance());
  auto [annotated, distinct] = count_annotated(client->api());
  print({{"name", "allocate_new_services"},
         {"value", allocated_s},
         {"unit", "s"},
         {"create_seconds", created_s},
         {"annotated", annotated},
         {"distinct_host_ports", distinct},
         {"goal", 25.0}},
        services, qps);
  print({{"name", "berth_peak_rss"}, {"value", rss}, {"unit", "bytes"}, {"goal", 64 * 1024 * 1024}}, services, qps);

  if (auto stopped = berth.stop(); !stopped || *stopped != 0) {
    std::fprintf(stderr, "berth did not stop cleanly\n");
    return 1;
  }
  const auto restart = std::chrono::steady_clock::now();
  if (!berth.start() || !berth.wait_for_log("port pool rebuilt", 60s, 2)) {
    std::fprintf(stderr, "berth did not rebuild after the restart\n");
    return 1;
  }
  const double rebuilt_s = Seconds(std::chrono::steady_clock::now() - restart).count();
  // The rebuild alone, as berth measured it (the last "took_ms=" in its log).
  const std::string log = berth.log();
  const auto took = log.rfind("took_ms=");
  const long rebuild_ms = took == std::string::npos ? -1 : std::stol(log.substr(took + 8));
  print({{"name", "restart_to_pool_rebuilt"},
         {"value", rebuilt_s},
         {"unit", "s"},
         {"rebuild_only_ms", rebuild_ms},
         {"goal", 2.0}},
        services, qps);
  berth.stop();
  return annotated == services && distinct == services ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int services = 10000;
  double qps = 500;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--services") {
      services = std::stoi(argv[i + 1]);
    } else if (flag == "--qps") {
      qps = std::stod(argv[i + 1]);
    } else {
      std::fprintf(stderr, "usage: %s [--services N] [--qps Q]\n", argv[0]);
      return 2;
    }
  }
  return run(services, qps);
}
