#include "support/dataplane_cluster.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "haproxy/master_socket.h"
#include "kube/resource.h"
#include "support/eventually.h"

namespace berth::testing {

std::map<std::string, std::string> DataplaneCluster::default_flags() {
  // The per-port mode: these tests' port blocks are shared by many tests that run at once, and
  // range mode binds a whole pool. Range mode's tests set "--listen-mode" to "range" and a
  // block of their own (docs/development.md).
  return {{"--bind-address", "127.0.0.1"},
          {"--listen-mode", "port"},
          {"--gather-delay", "50ms"},
          {"--min-reload-interval", "100ms"},
          {"--haproxy-check-period", "1s"},
          {"--check-interval", "500ms"},
          {"--kube-api-qps", "500"},
          {"--kube-api-burst", "500"}};
}

DataplaneCluster::DataplaneCluster(int first_port, std::vector<std::string> extra_args)
    : DataplaneCluster(DataplaneClusterOptions{
          .port_ranges = {{first_port, first_port + 99}}, .flags = {}, .extra_args = std::move(extra_args)}) {}

DataplaneCluster::DataplaneCluster(DataplaneClusterOptions options)
    : first_port_(options.port_ranges.empty() ? 0 : options.port_ranges.front().first),
      guard_(dir_.path() / "run" / "haproxy.pid") {
  args_ = {"--kubeconfig", cluster_.sim().kubeconfig_path().string(),
           "--haproxy-config-dir", (dir_.path() / "cfg").string(),
           "--haproxy-socket-dir", (dir_.path() / "run").string(),
           "--allow-loopback-endpoints"};  // the stand-in databases listen on 127.0.0.x
  for (const auto& [first, last] : options.port_ranges) {
    args_.insert(args_.end(), {"--port-range", fmt::format("{}-{}", first, last)});
  }
  auto flags = default_flags();
  for (auto& [flag, value] : options.flags) flags[flag] = std::move(value);
  for (const auto& [flag, value] : flags) args_.insert(args_.end(), {flag, value});
  args_.insert(args_.end(), options.extra_args.begin(), options.extra_args.end());
  berth_ = std::make_unique<BerthProcess>(args_);
}

DataplaneCluster::~DataplaneCluster() {
  berth_.reset();
  watch();  // workers started since the last look
  guard_.stop_all();
}

Result<void> DataplaneCluster::start(std::chrono::milliseconds timeout) {
  if (!cluster_.ready()) return make_error(ErrorCode::kInternal, cluster_.error());
  if (auto ok = berth_->start(); !ok) return ok;
  auto up = berth_->wait_for_log("haproxy started", timeout, starts() + 1);
  watch();
  return up;
}

void DataplaneCluster::watch() { guard_.watch_master(master_socket_path()); }

Result<haproxy::ProcessTable> DataplaneCluster::haproxy_status() {
  haproxy::MasterSocket socket(master_socket_path(), std::chrono::seconds(5));
  Result<haproxy::ProcessTable> table = make_error(ErrorCode::kTimeout, "no answer to show proc");
  eventually(
      [&] {
        auto answer = socket.to_master("show proc");
        if (!answer) {
          table = std::unexpected(answer.error());
          return false;
        }
        table = haproxy::parse_show_proc(*answer);
        return table.has_value();
      },
      std::chrono::seconds(1), std::chrono::milliseconds(10));
  if (table) guard_.watch(*table);
  return table;
}

bool DataplaneCluster::stop_haproxy() {
  watch();
  return guard_.stop_all();
}

Result<CommandResult> DataplaneCluster::kubectl(std::vector<std::string> args, std::string stdin_data) {
  std::vector<std::string> argv = {kKubectl, "--kubeconfig", cluster_.sim().kubeconfig_path().string(),
                                   "--cache-dir", (dir_.path() / "kubectl-cache").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, std::chrono::seconds(60), std::move(stdin_data));
}

Result<void> DataplaneCluster::kubectl_apply(const std::string& yaml) {
  auto result = kubectl({"apply", "-f", "-"}, yaml);
  if (!result) return std::unexpected(result.error());
  if (result->exit_code != 0) return make_error(ErrorCode::kInternal, "kubectl apply: " + result->err);
  return {};
}

std::optional<int> DataplaneCluster::host_port(const std::string& name, int service_port, const std::string& ns) {
  auto object = cluster_.api().get(kube::kServices, ns, name);
  if (!object) return std::nullopt;
  const auto& annotations = (*object)["metadata"].value("annotations", nlohmann::json::object());
  auto it = annotations.find("haproxy-ingress/" + std::to_string(service_port));
  if (it == annotations.end() || !it->is_string()) return std::nullopt;
  return std::stoi(it->get<std::string>());
}

std::optional<int> DataplaneCluster::wait_for_host_port(const std::string& name, int service_port,
                                                        std::chrono::milliseconds timeout) {
  std::optional<int> port;
  eventually([&] { return (port = host_port(name, service_port)).has_value(); }, timeout);
  return port;
}

bool DataplaneCluster::has_event(const std::string& name, const std::string& reason, const std::string& ns) {
  auto events = cluster_.api().list(kube::kEvents, ns, {});
  if (!events) return false;
  for (const auto& e : events->items) {
    if (e.value("reason", "") == reason && e["involvedObject"].value("name", "") == name) return true;
  }
  return false;
}

}  // namespace berth::testing
