// How long it takes, and how much memory, to list and cache 10,000 Services from kube-sim.
// Goal (issue 2): under 1 s and under 64 MB.
//
//   list_services_bench [--services N] [--page-size P]
//
// The parent starts kube-sim over loopback HTTPS and creates the Services; then it runs
// itself again as a fresh child process (`--measure`) that does only the list-and-cache, so
// that the child's peak RSS is the cost of the cache and not of creating the Services.
// Prints one JSON object on stdout.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_support.h"
#include "common/clock.h"
#include "common/log.h"
#include "kube/kube_client.h"
#include "kube/kube_config.h"
#include "kube/reflector.h"
#include "kube/service.h"
#include "kube/store.h"
#include "support/child_process.h"
#include "support/kube_sim_process.h"

namespace {

using namespace std::chrono_literals;
using berth::SystemClock;
namespace kube = berth::kube;

long peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) * 1024;
  }
  return -1;
}

// The child: list and cache every Service, print {"seconds":..,"peak_rss_bytes":..,"services":..}.
int measure(const std::string& kubeconfig, long page_size) {
  berth::set_log_level("warn");
  auto config = kube::load_kubeconfig(kubeconfig);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().describe().c_str());
    return 1;
  }
  auto& clock = SystemClock::instance();
  const auto start = std::chrono::steady_clock::now();
  auto client = kube::KubeClient::create(*config, {.qps = 20, .burst = 40}, clock);
  kube::Store<kube::Service> store;
  kube::Reflector<kube::Service> reflector(client->api(), kube::kServices, "", {}, store, kube::parse_service,
                                           clock, {.page_size = page_size});
  std::jthread thread([&](std::stop_token stop) { reflector.run(stop); });
  // Bounded: a minute at most. The reflector syncs on its own thread.
  while (!reflector.has_synced() && std::chrono::steady_clock::now() - start < 60s) {
    std::this_thread::sleep_for(1ms);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const bool synced = reflector.has_synced();
  client->api().shutdown();
  thread.request_stop();
  nlohmann::json out = {{"seconds", seconds}, {"peak_rss_bytes", peak_rss_bytes()},
                        {"services", store.size()}, {"synced", synced}};
  std::printf("%s\n", out.dump().c_str());
  return synced ? 0 : 1;
}

int populate_and_measure(const char* self, int services, long page_size) {
  berth::set_log_level("warn");
  berth::testing::KubeSimProcess sim;
  if (auto started = sim.start(); !started) {
    std::fprintf(stderr, "kube-sim: %s\n", started.error().describe().c_str());
    return 1;
  }
  auto config = kube::load_kubeconfig(sim.kubeconfig_path());
  if (!config) return 1;
  std::atomic<int> next{0}, failures{0};
  {
    std::vector<std::jthread> writers;
    for (int t = 0; t < 4; ++t) {
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
  if (failures > 0) {
    std::fprintf(stderr, "%d creates failed\n", failures.load());
    return 1;
  }
  auto child = berth::testing::run_command(
      {self, "--measure", sim.kubeconfig_path().string(), "--page-size", std::to_string(page_size)}, 120s);
  if (!child || child->exit_code != 0) {
    std::fprintf(stderr, "measurement failed: %s\n", child ? child->err.c_str() : child.error().describe().c_str());
    return 1;
  }
  auto m = nlohmann::json::parse(child->out);
  nlohmann::json figure = {{"name", "list_and_cache_services"},
                           {"value", m["seconds"]},
                           {"unit", "s"},
                           {"peak_rss_bytes", m["peak_rss_bytes"]},
                           {"services", m["services"]},
                           {"page_size", page_size},
                           {"cores", std::thread::hardware_concurrency()},
                           {"haproxy_version", berth::bench::haproxy_version()},
                           {"goal", {{"seconds", 1.0}, {"peak_rss_bytes", 64 * 1024 * 1024}}}};
  std::printf("%s\n", figure.dump().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int services = 10000;
  long page_size = 500;
  std::string measure_kubeconfig;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--services") services = std::stoi(argv[i + 1]);
    else if (flag == "--page-size") page_size = std::stol(argv[i + 1]);
    else if (flag == "--measure") measure_kubeconfig = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: %s [--services N] [--page-size P]\n", argv[0]);
      return 2;
    }
  }
  if (!measure_kubeconfig.empty()) return measure(measure_kubeconfig, page_size);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return 1;
  self[n] = '\0';
  return populate_and_measure(self, services, page_size);
}
