// The JSON document GET /status answers on --metrics-bind-address, and `berth status` prints:
// this replica's view of every marked Service port (its host port, whether HAProxy serves it
// here and why not, its backends' health and its open sessions) plus the replica's own state.
//
//   {"version": "0.1.0", "leader": true, "ready": true, "ready_reason": "",
//    "dataplane": true,
//    "haproxy": {"master_pid": 41, "worker_pid": 97, "old_worker_pids": [], "error": ""},
//    "services": [{"service": "default/mysql", "service_port": 3306, "host_port": 20000,
//                  "state": "serving", "reason": "", "sessions": 2,
//                  "backends_up": 1, "backends_down": 0,
//                  "backends": [{"address": "10.244.1.7:3306", "status": "UP", "sessions": 2}]}]}
//
// host_port is null when the port has none. A backend's status is HAProxy's word ("UP",
// "DOWN 1/2", "no check"), or "unknown" when HAProxy could not be asked (then haproxy.error
// says why) or does not serve the listener yet. Sessions count every HAProxy worker, old ones
// draining after a reload included (runtime_stats.h). With --dataplane=none there is no
// HAProxy: "dataplane" is false, "haproxy" null and "services" empty.
//
// Thread-safety: status_report() runs on the HTTP server's threads; everything it reads is
// thread-safe (HaproxySync::serving_status, MasterCli, atomics).
#pragma once

#include <atomic>
#include <functional>
#include <optional>

#include <nlohmann/json.hpp>

#include "dataplane/haproxy_sync.h"
#include "dataplane/serving_status.h"
#include "haproxy/runtime_stats.h"
#include "metrics/probe_server.h"

namespace berth::app {

struct StatusSources {
  const dataplane::HaproxySync* haproxy_sync;  // null with --dataplane=none
  haproxy::MasterCli* master_cli;              // null with --dataplane=none
  // --listen-mode=range: its ports.map, which names the backend of each port (runtime_stats.h).
  std::optional<std::string> range_ports_map;
  const std::atomic<bool>& leading;
  std::function<metrics::Readiness()> readiness;
};

// The document from what the data plane published and what HAProxy says now; the pure part of
// status_report(), for tests. `runtime` holds HAProxy's answer or why there is none.
nlohmann::json status_document(const dataplane::ServingStatus& serving, const Result<haproxy::RuntimeStats>& runtime);

// status_document() with HAProxy asked now, plus version, leader and readiness.
nlohmann::json status_report(const StatusSources& sources);

}  // namespace berth::app
