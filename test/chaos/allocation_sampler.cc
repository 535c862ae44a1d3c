#include "chaos/allocation_sampler.h"

#include <condition_variable>
#include <set>

#include <fmt/format.h>

#include "chaos/expected_dataplane.h"
#include "kube/resource.h"

namespace berth::chaos {

AllocationSampler::AllocationSampler(std::unique_ptr<kube::KubeClient> client, const UserWrites& writes,
                                     std::map<std::string, std::map<std::string, std::string>> stable,
                                     std::chrono::milliseconds period)
    : client_(std::move(client)), writes_(writes), stable_(std::move(stable)), period_(period) {}

AllocationSampler::~AllocationSampler() { stop(); }

void AllocationSampler::start() {
  const auto started = std::chrono::steady_clock::now();
  thread_ = std::jthread([this, started](std::stop_token stop) {
    std::mutex wait_mutex;
    std::condition_variable_any wake;
    while (!stop.stop_requested()) {
      sample_once(started);
      // Waits out the period, or less when stop() is asked for.
      std::unique_lock lock(wait_mutex);
      wake.wait_for(lock, stop, period_, [] { return false; });
    }
  });
}

SamplerReport AllocationSampler::stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
  }
  std::lock_guard lock(mutex_);
  return report_;
}

void AllocationSampler::sample_once(const std::chrono::steady_clock::time_point& started) {
  const UserWrites::Mark listed_from = writes_.mark();
  auto services = list_everything(client_->api(), kube::kServices);
  if (!services) {
    std::lock_guard lock(mutex_);
    ++report_.failed_samples;
    return;
  }
  const double at = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::map<std::string, std::vector<std::string>> holders;  // host port value → "ns/name port"
  std::vector<std::string> moved;
  for (const auto& service : *services) {
    const auto& meta = service["metadata"];
    const std::string key = meta.value("namespace", "") + "/" + meta.value("name", "");
    const auto annotations = meta.value("annotations", nlohmann::json::object());
    if (auto stable = stable_.find(key); stable != stable_.end()) {
      for (const auto& [annotation, host_port] : stable->second) {
        const std::string now = annotations.value(annotation, "");
        if (now != host_port) moved.push_back(fmt::format("{:.1f}s {} {}={} (was {})", at, key, annotation, now, host_port));
      }
    }
    if (annotations.value("ingress", "") != "haproxy-ingress") continue;
    std::set<int> tcp_ports;
    for (const auto& port : service["spec"].value("ports", nlohmann::json::array())) {
      if (port.value("protocol", "TCP") == "TCP") tcp_ports.insert(port.value("port", 0));
    }
    for (int port : tcp_ports) {
      const std::string annotation = fmt::format("haproxy-ingress/{}", port);
      auto value = annotations.find(annotation);
      if (value == annotations.end() || !value->is_string()) continue;
      const std::string text = value->get<std::string>();
      if (writes_.wrote(key, annotation, text, listed_from)) continue;
      holders[text].push_back(fmt::format("{} {}", key, port));
    }
  }
  std::lock_guard lock(mutex_);
  ++report_.samples;
  bool duplicate = false;
  for (const auto& [host_port, who] : holders) {
    if (who.size() < 2) continue;
    duplicate = true;
    if (report_.duplicates.size() < 20) {
      report_.duplicates.push_back(fmt::format("{:.1f}s host port {} held by {}", at, host_port, fmt::join(who, ", ")));
    }
  }
  if (duplicate) ++report_.duplicate_samples;
  if (!moved.empty()) {
    ++report_.stable_move_samples;
    for (auto& m : moved) {
      if (report_.stable_moves.size() < 20) report_.stable_moves.push_back(std::move(m));
    }
  }
}

}  // namespace berth::chaos
