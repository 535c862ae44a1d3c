// berth's command line. Parsing and validation only; app.cc wires components from Options.
//
// Flag names follow the Kubernetes controllers a platform operator already runs
// (controller-runtime, kube-controller-manager) where one exists.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/error.h"
#include "controller/allocator_config.h"
#include "haproxy/model.h"
#include "metrics/probe_server.h"

namespace berth::app {

// --leader-elect and its timings (kube-controller-manager's flag names and defaults).
struct LeaderElectionOptions {
  bool enabled = false;                // --leader-elect
  std::string lease_namespace = "default";  // --leader-election-namespace
  std::string lease_name = "berth";    // --leader-election-id
  std::chrono::nanoseconds lease_duration = std::chrono::seconds(15);  // --leader-elect-lease-duration
  std::chrono::nanoseconds renew_deadline = std::chrono::seconds(10);  // --leader-elect-renew-deadline
  std::chrono::nanoseconds retry_period = std::chrono::seconds(2);     // --leader-elect-retry-period
};

// --dataplane=haproxy and what the HAProxy it drives is told.
// --gather-delay when not given: a reload (the port mode) is worth gathering a burst of changes
// for; a range-mode apply is a few Runtime API commands, and what arrives while one runs is
// applied together by the next (dataplane/haproxy_sync.h).
inline std::string default_gather_delay(const std::string& listen_mode) { return listen_mode == "range" ? "0s" : "20ms"; }

struct DataplaneOptions {
  std::string mode = "haproxy";                      // --dataplane: haproxy | none (the allocator alone)
  std::string haproxy_binary = "/usr/sbin/haproxy";  // --haproxy-binary
  std::string config_dir = "/var/lib/berth";         // --haproxy-config-dir: haproxy.cfg, server state
  std::string socket_dir = "/run/berth";             // --haproxy-socket-dir: master and admin sockets
  std::string template_file;                         // --template; "" = the built-in template
  // --haproxy-maxconn, --haproxy-nbthread, --bind-address, --haproxy-log-target,
  // --max-old-workers, --check-interval; the socket and state paths derive from the dirs.
  haproxy::GlobalSettings global;
  std::size_t min_server_slots = 2;                                 // --min-server-slots
  // --listen-mode: "range" (the pool bound once, ports routed through runtime maps) or "port" (a
  // frontend and backend per host port; a reload exposes a new one). Range by default: Services
  // come and go with no reload, so no old worker is left holding sessions (docs/listen-modes.md,
  // docs/benchmarks.md).
  std::string listen_mode = "range";
  std::size_t range_backend_chunk = 64;                             // --range-backend-chunk
  bool allow_loopback_endpoints = false;                            // --allow-loopback-endpoints
  std::chrono::nanoseconds gather_delay{0};  // --gather-delay (default_gather_delay(): 0 in range mode, 20ms in port)
  std::chrono::nanoseconds min_reload_interval = std::chrono::seconds(1);  // --min-reload-interval
  std::chrono::nanoseconds check_period = std::chrono::seconds(5);         // --haproxy-check-period

  bool enabled() const { return mode == "haproxy"; }
  bool range_mode() const { return listen_mode == "range"; }
  std::string config_path() const { return config_dir + "/haproxy.cfg"; }
  std::string master_socket() const { return socket_dir + "/master.sock"; }
};

struct Options {
  std::string kubeconfig;   // --kubeconfig; "" = $KUBECONFIG, else in-cluster
  std::string context;      // --context; "" = the kubeconfig's current-context
  double kube_api_qps = 20;  // --kube-api-qps; client-side rate limit, <= 0 disables
  int kube_api_burst = 40;   // --kube-api-burst
  std::string log_level = "info";
  std::string log_format = "text";  // --log-format: text (klog-like) | json
  // --metrics-bind-address (/metrics) and --health-probe-bind-address (/healthz, /readyz), as
  // controller-runtime names them; nullopt ("0", the default) = not served.
  std::optional<metrics::BindAddress> metrics_address;
  std::optional<metrics::BindAddress> health_probe_address;
  // --class-annotation, --ingress-class, --annotation-prefix, --port-range, --exclude-ports,
  // --port-quarantine, --max-ports-per-namespace, --watch-namespace, --concurrent-syncs; the
  // quarantine Lease lives beside the leader-election Lease ("<id>-quarantine").
  controller::AllocatorConfig allocator;
  LeaderElectionOptions leader_election;
  DataplaneOptions dataplane;
};

// What the command line asks for: run with Options, or exit at once with a code (0 for help
// and version; 2 for a usage error, already printed to stderr naming the flag).
struct ExitNow {
  int code = 0;
};
using ParsedCommandLine = std::variant<Options, ExitNow>;

ParsedCommandLine parse_command_line(int argc, const char* const* argv);

}  // namespace berth::app
