#include "app/status_report.h"

#include "app/version.h"

namespace berth::app {
namespace {

using nlohmann::json;

json backend_json(std::string address, std::string status, int sessions) {
  return {{"address", std::move(address)}, {"status", std::move(status)}, {"sessions", sessions}};
}

json port_json(const dataplane::ServedPort& port, const haproxy::ListenerRuntime* runtime) {
  json backends = json::array();
  int up = 0;
  int down = 0;
  if (runtime != nullptr) {
    for (const haproxy::ServerRuntime& server : runtime->servers) {
      (server.health == haproxy::ServerHealth::kDown ? down : up) += 1;
      backends.push_back(backend_json(server.address, server.status, server.sessions));
    }
  } else {
    for (const haproxy::Server& server : port.servers) {
      backends.push_back(backend_json(server.address.with_port(server.port), "unknown", 0));
    }
  }
  return {{"service", port.service},
          {"service_port", port.service_port},
          {"host_port", port.host_port > 0 ? json(port.host_port) : json(nullptr)},
          {"state", std::string(dataplane::state_name(port.state))},
          {"reason", port.reason},
          {"sessions", runtime != nullptr ? runtime->sessions : 0},
          {"backends_up", up},
          {"backends_down", down},
          {"backends", std::move(backends)}};
}

}  // namespace

json status_document(const dataplane::ServingStatus& serving, const Result<haproxy::RuntimeStats>& runtime) {
  json doc;
  json haproxy = {{"master_pid", nullptr}, {"worker_pid", nullptr}, {"old_worker_pids", json::array()}, {"error", ""}};
  if (runtime) {
    haproxy["master_pid"] = runtime->processes.master.pid;
    if (auto worker = runtime->processes.current_worker()) haproxy["worker_pid"] = *worker;
    haproxy["old_worker_pids"] = runtime->processes.old_workers();
  } else {
    haproxy["error"] = runtime.error().describe();
  }
  doc["haproxy"] = std::move(haproxy);
  json services = json::array();
  for (const dataplane::ServedPort& port : serving.ports) {
    const haproxy::ListenerRuntime* listener = nullptr;
    // Only a listener this Service owns here has HAProxy's numbers; a port it merely claims
    // (not served) may be another Service's listener.
    if (runtime && port.state == dataplane::ServedPort::State::kServing) {
      if (auto found = runtime->listeners.find(port.host_port); found != runtime->listeners.end()) {
        listener = &found->second;
      }
    }
    services.push_back(port_json(port, listener));
  }
  doc["services"] = std::move(services);
  return doc;
}

json status_report(const StatusSources& sources) {
  json doc;
  if (sources.haproxy_sync != nullptr && sources.master_cli != nullptr) {
    doc = status_document(*sources.haproxy_sync->serving_status(), haproxy::read_runtime_stats(*sources.master_cli, sources.range_ports_map));
    doc["dataplane"] = true;
  } else {
    doc = {{"dataplane", false}, {"haproxy", nullptr}, {"services", json::array()}};
  }
  doc["version"] = std::string(kVersion);
  doc["leader"] = sources.leading.load();
  const metrics::Readiness ready = sources.readiness();
  doc["ready"] = ready.ready;
  doc["ready_reason"] = ready.reason;
  return doc;
}

}  // namespace berth::app
