// The whole data plane for end-to-end tests: kube-sim, the berth binary (which starts HAProxy)
// and kubectl, over loopback. berth's config and socket directories live in a TempDir; the
// HAProxy processes berth started are stopped by PID when the test ends (HaproxyGuard), even
// when it fails.
//
//   DataplaneCluster c(31000);                    // host ports 31000-31099
//   ASSERT_TRUE(c.start()) ...;
//   c.kubectl_apply(service_yaml("db", 3306) + slice_yaml("db-1", "db", {"127.0.0.2"}, echo.port()));
//   auto port = c.wait_for_host_port("db", 3306);  // the allocation annotation
//   greeting_at("127.0.0.1", *port, 2s) == "..."
//
// Tests that run at the same time must use different port blocks.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "e2e/allocation_checks.h"
#include "e2e/kube_sim_cluster.h"
#include "haproxy/master_socket.h"
#include "kube/resource.h"
#include "support/berth_process.h"
#include "support/child_process.h"
#include "support/haproxy_guard.h"
#include "support/temp_dir.h"

namespace berth::testing {

inline constexpr const char* kKubectl = "/usr/bin/kubectl";

// A marked Service with one TCP port named "db" and optional extra annotations, as YAML.
inline std::string service_yaml(const std::string& name, int port,
                                const std::map<std::string, std::string>& annotations = {}) {
  std::string extra;
  for (const auto& [k, v] : annotations) extra += fmt::format("    {}: {}\n", k, nlohmann::json(v).dump());
  return fmt::format(R"(apiVersion: v1
kind: Service
metadata:
  name: {}
  annotations:
    ingress: haproxy-ingress
{}spec:
  ports:
  - {{name: db, port: {}, protocol: TCP, targetPort: {}}}
---
)",
                     name, extra, port, port);
}

// An EndpointSlice of `service` with one ready endpoint per address, all on `port`.
inline std::string slice_yaml(const std::string& name, const std::string& service,
                              const std::vector<std::string>& addresses, int port, const std::string& type = "IPv4") {
  std::string endpoints;
  for (const auto& a : addresses) {
    endpoints += fmt::format("- addresses: [\"{}\"]\n  conditions: {{ready: true}}\n", a);
  }
  return fmt::format(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {}
  labels:
    kubernetes.io/service-name: {}
addressType: {}
ports:
- {{name: db, port: {}, protocol: TCP}}
endpoints:
{}---
)",
                     name, service, type, port, endpoints.empty() ? "[]\n" : endpoints);
}

class DataplaneCluster {
 public:
  // Host ports first_port .. first_port + 99, bound on 127.0.0.1.
  explicit DataplaneCluster(int first_port, std::vector<std::string> extra_args = {})
      : first_port_(first_port), guard_(dir_.path() / "run" / "haproxy.pid") {
    args_ = {"--kubeconfig", cluster_.sim().kubeconfig_path().string(),
             "--port-range", fmt::format("{}-{}", first_port, first_port + 99),
             "--haproxy-config-dir", (dir_.path() / "cfg").string(),
             "--haproxy-socket-dir", (dir_.path() / "run").string(),
             "--bind-address", "127.0.0.1",
             "--gather-delay", "50ms",
             "--min-reload-interval", "100ms",
             "--haproxy-check-period", "1s",
             "--check-interval", "500ms",
             "--allow-loopback-endpoints",  // the echo servers stand on 127.0.0.x
             "--kube-api-qps", "500", "--kube-api-burst", "500"};
    args_.insert(args_.end(), extra_args.begin(), extra_args.end());
    berth_ = std::make_unique<BerthProcess>(args_);
  }
  ~DataplaneCluster() {
    berth_.reset();  // berth first, so nothing starts HAProxy again while the guard stops it
    guard_.stop_all();
  }

  // Starts berth and waits until HAProxy runs. Errors name what did not happen.
  Result<void> start(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    if (!cluster_.ready()) return make_error(ErrorCode::kInternal, cluster_.error());
    if (auto ok = berth_->start(); !ok) return ok;
    auto up = berth_->wait_for_log("haproxy started", timeout);
    watch();
    return up;
  }

  KubeSimCluster& kube() { return cluster_; }
  BerthProcess& berth() { return *berth_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::filesystem::path config_path() const { return dir_.path() / "cfg" / "haproxy.cfg"; }
  int first_port() const { return first_port_; }

  // Remembers the HAProxy processes running now, so the guard stops them at the end.
  void watch() {
    haproxy::MasterSocket socket(dir_.path() / "run" / "master.sock", std::chrono::seconds(5));
    auto answer = socket.to_master("show proc");
    if (answer) {
      if (auto table = haproxy::parse_show_proc(*answer)) guard_.watch(*table);
    }
    guard_.watch(Result<haproxy::ProcessTable>(make_error(ErrorCode::kNotFound, "pid file only")));
  }
  // `show proc`, retried for a second: the master refuses connections for a few ms while it
  // re-executes after a reload.
  Result<haproxy::ProcessTable> haproxy_status() {
    haproxy::MasterSocket socket(dir_.path() / "run" / "master.sock", std::chrono::seconds(5));
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

  // kubectl with a private discovery cache; stdin_data is piped in.
  Result<CommandResult> kubectl(std::vector<std::string> args, std::string stdin_data = "") {
    std::vector<std::string> argv = {kKubectl, "--kubeconfig", cluster_.sim().kubeconfig_path().string(),
                                     "--cache-dir", (dir_.path() / "kubectl-cache").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, std::chrono::seconds(60), std::move(stdin_data));
  }
  Result<void> kubectl_apply(const std::string& yaml) {
    auto result = kubectl({"apply", "-f", "-"}, yaml);
    if (!result) return std::unexpected(result.error());
    if (result->exit_code != 0) return make_error(ErrorCode::kInternal, "kubectl apply: " + result->err);
    return {};
  }

  // The host port berth wrote on the Service for `service_port`, once it has.
  std::optional<int> host_port(const std::string& name, int service_port, const std::string& ns = "default") {
    auto object = cluster_.api().get(kube::kServices, ns, name);
    if (!object) return std::nullopt;
    const auto& annotations = (*object)["metadata"].value("annotations", nlohmann::json::object());
    auto it = annotations.find("haproxy-ingress/" + std::to_string(service_port));
    if (it == annotations.end() || !it->is_string()) return std::nullopt;
    return std::stoi(it->get<std::string>());
  }
  std::optional<int> wait_for_host_port(const std::string& name, int service_port,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::optional<int> port;
    eventually([&] { return (port = host_port(name, service_port)).has_value(); }, timeout);
    return port;
  }

  // Whether an Event with `reason` about the Service `name` exists (Events are written
  // asynchronously, so callers wait with eventually()).
  bool has_event(const std::string& name, const std::string& reason, const std::string& ns = "default") {
    auto events = cluster_.api().list(kube::kEvents, ns, {});
    if (!events) return false;
    for (const auto& e : events->items) {
      if (e.value("reason", "") == reason && e["involvedObject"].value("name", "") == name) return true;
    }
    return false;
  }

  // Waits until berth has logged a start or reload that left HAProxy with `listeners`
  // listeners. HAProxy serves a new port as soon as its reload is done, a moment before berth
  // has confirmed and logged it; tests that count reloads or kill berth wait for this first.
  Result<void> wait_for_applied(std::size_t listeners, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    return berth_->wait_for_log(fmt::format("listeners={} reasons=", listeners), timeout);
  }

  // Completed reloads and starts, as berth logged them.
  std::size_t reloads() const { return berth_->count_in_log("haproxy reloaded"); }
  std::size_t starts() const { return berth_->count_in_log("haproxy started"); }

 private:
  TempDir dir_;
  KubeSimCluster cluster_;
  int first_port_;
  std::vector<std::string> args_;
  HaproxyGuard guard_;
  std::unique_ptr<BerthProcess> berth_;
};

}  // namespace berth::testing
