#include "chaos/load_balancer.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <httplib.h>

namespace berth::chaos {

LoadBalancer::LoadBalancer(std::string name, std::string address, int metrics_port,
                           std::vector<std::string> common_args)
    : name_(std::move(name)),
      address_(std::move(address)),
      metrics_port_(metrics_port),
      guard_(dir_.path() / "run" / "haproxy.pid") {
  std::vector<std::string> args = std::move(common_args);
  args.insert(args.end(), {"--haproxy-config-dir", (dir_.path() / "cfg").string(),  //
                           "--haproxy-socket-dir", socket_path().parent_path().string(),
                           "--bind-address", address_,  //
                           "--metrics-bind-address", fmt::format("{}:{}", address_, metrics_port_)});
  berth_ = std::make_unique<testing::BerthProcess>(std::move(args));
}

LoadBalancer::~LoadBalancer() {
  berth_.reset();
  remember_haproxy();
  guard_.stop_all();
}

Result<void> LoadBalancer::start(std::chrono::milliseconds timeout) {
  const std::size_t starts_before = berth_->count_in_log("haproxy started");
  if (auto ok = berth_->start(); !ok) return ok;
  if (started_once_) return {};
  started_once_ = true;
  auto up = berth_->wait_for_log("haproxy started", timeout, starts_before + 1);
  remember_haproxy();
  return up;
}

void LoadBalancer::kill() { berth_->kill(); }

Result<int> LoadBalancer::stop_berth() { return berth_->stop(std::chrono::seconds(30)); }

bool LoadBalancer::running() { return berth_->running(); }

std::optional<long> LoadBalancer::berth_rss_kib() const {
  const pid_t pid = berth_->pid();
  if (pid <= 0) return std::nullopt;
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) {
      std::istringstream fields(line.substr(6));
      long kib = 0;
      if (fields >> kib) return kib;
    }
  }
  return std::nullopt;
}

std::optional<bool> LoadBalancer::is_leader() const {
  httplib::Client client(address_, metrics_port_);
  client.set_connection_timeout(std::chrono::seconds(2));
  client.set_read_timeout(std::chrono::seconds(5));
  auto response = client.Get("/metrics");
  if (!response || response->status != 200) return std::nullopt;
  std::istringstream lines(response->body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line == "berth_leader 1") return true;
    if (line == "berth_leader 0") return false;
  }
  return std::nullopt;
}

haproxy::MasterSocket LoadBalancer::master() { return haproxy::MasterSocket(socket_path(), std::chrono::seconds(10)); }

void LoadBalancer::remember_haproxy() { guard_.watch_master(socket_path()); }

}  // namespace berth::chaos
