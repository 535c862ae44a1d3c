#include "app/options.h"

#include <algorithm>
#include <initializer_list>
#include <iostream>
#include <string>
#include <tuple>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "app/version.h"
#include "common/go_duration.h"
#include "haproxy/settings_validation.h"
#include "kube/name_validation.h"

namespace berth::app {
namespace {

// A Go-duration flag: its name, the text given, and where the value goes.
struct DurationFlag {
  const char* flag;
  const std::string& text;
  std::chrono::nanoseconds& out;
};

// Parses every flag of `flags`; the first bad one is an error naming it.
Result<void> parse_durations(std::initializer_list<DurationFlag> flags) {
  for (const DurationFlag& f : flags) {
    auto parsed = parse_go_duration(f.text);
    if (!parsed) return make_error(ErrorCode::kInvalidArgument, fmt::format("{}: {}", f.flag, parsed.error().message));
    f.out = *parsed;
  }
  return {};
}

// The data plane's flags that CLI11 cannot check on its own; an error names the flag.
Result<void> finish_dataplane(DataplaneOptions& d, const std::vector<std::string>& bind_addresses,
                              const std::string& log_target, const std::string& check_interval,
                              const std::string& gather_delay, const std::string& min_reload_interval,
                              const std::string& check_period) {
  auto path_flag = [](const char* flag, const std::string& path, std::size_t max) -> Result<void> {
    if (auto error = haproxy::config_path_error(path, max); !error.empty()) {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("{} \"{}\": {}", flag, path, error));
    }
    return {};
  };
  // The longest name put into each directory ("master.sock", "haproxy.cfg.candidate.tmp").
  if (auto ok = path_flag("--haproxy-socket-dir", d.socket_dir, haproxy::kMaxSocketPath - 12); !ok) return ok;
  if (auto ok = path_flag("--haproxy-config-dir", d.config_dir, 200); !ok) return ok;
  if (!d.haproxy_binary.empty() && d.haproxy_binary[0] != '/') {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--haproxy-binary \"{}\": must be an absolute path", d.haproxy_binary));
  }
  if (d.range_mode() && !d.template_file.empty()) {
    // Range mode's frontend rules are what route its ports; they are not a template's to change.
    return make_error(ErrorCode::kInvalidArgument,
                      "--template applies to --listen-mode=port only (the default is range: add --listen-mode=port)");
  }
  d.global.bind_addresses.clear();
  for (const auto& text : bind_addresses.empty() ? std::vector<std::string>{"0.0.0.0"} : bind_addresses) {
    auto address = haproxy::IpAddress::parse(text);
    if (!address) return make_error(ErrorCode::kInvalidArgument, "--bind-address " + address.error().message);
    if (std::find(d.global.bind_addresses.begin(), d.global.bind_addresses.end(), *address) ==
        d.global.bind_addresses.end()) {
      d.global.bind_addresses.push_back(*address);
    }
  }
  auto log = haproxy::parse_log_target(log_target);
  if (!log) return make_error(ErrorCode::kInvalidArgument, "--haproxy-log-target " + log.error().message);
  d.global.log = *log;
  std::chrono::nanoseconds interval{};
  const std::string gather = gather_delay.empty() ? default_gather_delay(d.listen_mode) : gather_delay;
  if (auto ok = parse_durations({{"--check-interval", check_interval, interval},
                                 {"--gather-delay", gather, d.gather_delay},
                                 {"--min-reload-interval", min_reload_interval, d.min_reload_interval},
                                 {"--haproxy-check-period", check_period, d.check_period}});
      !ok) {
    return ok;
  }
  if (interval < std::chrono::milliseconds(100) || interval > std::chrono::hours(1)) {
    return make_error(ErrorCode::kInvalidArgument, "--check-interval must be between 100ms and 1h");
  }
  d.global.check_interval = std::chrono::duration_cast<std::chrono::milliseconds>(interval);
  if (d.check_period < std::chrono::milliseconds(100)) {
    return make_error(ErrorCode::kInvalidArgument, "--haproxy-check-period must be at least 100ms");
  }
  d.global.admin_socket = d.socket_dir + "/admin.sock";
  d.global.server_state_file = d.config_dir + "/server-state";
  return {};
}

// The typed values that CLI11 cannot check on its own; an error names the flag.
Result<void> finish(Options& o, const std::vector<std::string>& port_ranges, const std::string& exclude_ports,
                    const std::string& quarantine, const std::string& lease_duration,
                    const std::string& renew_deadline, const std::string& retry_period) {
  auto ranges = ports::PortRangeSet::parse(port_ranges);
  if (!ranges) return make_error(ErrorCode::kInvalidArgument, "--port-range " + ranges.error().message);
  auto excluded = ports::PortRangeSet::parse(exclude_ports);
  if (!excluded) return make_error(ErrorCode::kInvalidArgument, "--exclude-ports " + excluded.error().message);
  o.allocator.port_range = std::move(*ranges);
  o.allocator.excluded = std::move(*excluded);
  if (o.allocator.port_range.minus(o.allocator.excluded).empty()) {
    return make_error(ErrorCode::kInvalidArgument, "--port-range minus --exclude-ports leaves no port to allocate");
  }
  std::chrono::nanoseconds quarantine_ns{};
  if (auto ok = parse_durations({{"--port-quarantine", quarantine, quarantine_ns},
                                 {"--leader-elect-lease-duration", lease_duration, o.leader_election.lease_duration},
                                 {"--leader-elect-renew-deadline", renew_deadline, o.leader_election.renew_deadline},
                                 {"--leader-elect-retry-period", retry_period, o.leader_election.retry_period}});
      !ok) {
    return ok;
  }
  o.allocator.quarantine = std::chrono::duration_cast<Clock::duration>(quarantine_ns);
  if (auto valid = controller::validate(o.allocator.annotations); !valid) return valid;
  if (!o.allocator.watch_namespace.empty()) {
    if (auto error = kube::dns1123_label_error(o.allocator.watch_namespace); !error.empty()) {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("--watch-namespace \"{}\": {}", o.allocator.watch_namespace, error));
    }
  }
  if (auto error = kube::dns1123_label_error(o.leader_election.lease_namespace); !error.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--leader-election-namespace \"{}\": {}", o.leader_election.lease_namespace, error));
  }
  // "<id>-quarantine" must itself be a valid name, so the id leaves room for the suffix.
  const std::string quarantine_lease = o.leader_election.lease_name + "-quarantine";
  if (auto error = kube::dns1123_subdomain_error(quarantine_lease); !error.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      fmt::format("--leader-election-id \"{}\": {}", o.leader_election.lease_name, error));
  }
  o.allocator.quarantine_lease_namespace = o.leader_election.lease_namespace;
  o.allocator.quarantine_lease_name = quarantine_lease;
  return {};
}

// --haproxy-metrics-bind-address: a port of its own, which HAProxy binds beside the host ports.
Result<void> finish_haproxy_metrics(Options& o, const std::string& text) {
  const char* flag = "--haproxy-metrics-bind-address";
  auto parsed = metrics::parse_bind_address(text);
  if (!parsed) return make_error(ErrorCode::kInvalidArgument, std::string(flag) + " " + parsed.error().message);
  if (!*parsed) return {};
  const metrics::BindAddress& bind = **parsed;
  auto bad = [&](std::string_view why) {
    return make_error(ErrorCode::kInvalidArgument, fmt::format("{} \"{}\": {}", flag, text, why));
  };
  if (bind.port == 0) return bad("needs a port");
  if (o.allocator.port_range.contains(bind.port) && !o.allocator.excluded.contains(bind.port)) {
    return bad("the port is in --port-range; exclude it or pick another");
  }
  for (const auto& other : {o.metrics_address, o.health_probe_address}) {
    if (other && other->port == bind.port) return bad("berth's own --metrics-bind-address or --health-probe-bind-address uses the port");
  }
  auto address = haproxy::IpAddress::parse(bind.host);
  if (!address) return bad(address.error().message);
  o.dataplane.global.prometheus = haproxy::MetricsEndpoint{*address, bind.port};
  return {};
}

}  // namespace

ParsedCommandLine parse_command_line(int argc, const char* const* argv) {
  Options o;
  CLI::App cli{"berth: exposes in-cluster TCP services (databases) through HAProxy"};
  cli.set_version_flag("--version", std::string(kVersion));
  cli.footer("berth status --address <its --metrics-bind-address> prints what a running berth serves "
             "(berth status --help).");
  cli.add_option("--kubeconfig", o.kubeconfig,
                 "kubeconfig file; default $KUBECONFIG, else the in-cluster service account");
  cli.add_option("--context", o.context, "kubeconfig context; default its current-context");
  cli.add_option("--kube-api-qps", o.kube_api_qps,
                 "client-side limit of requests per second to the API server (<= 0: unlimited)")
      ->capture_default_str();
  cli.add_option("--kube-api-burst", o.kube_api_burst, "requests allowed at once above --kube-api-qps")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cli.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  cli.add_option("--log-format", o.log_format, "text (klog-like lines) or json (one object per line)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "json"}));
  std::string metrics_address = "0", health_probe_address = "0";
  cli.add_option("--metrics-bind-address", metrics_address,
                 "host:port, :port or [v6]:port to serve Prometheus /metrics on; 0 disables")
      ->capture_default_str();
  cli.add_option("--health-probe-bind-address", health_probe_address,
                 "host:port, :port or [v6]:port to serve /healthz and /readyz on; 0 disables")
      ->capture_default_str();

  controller::AnnotationConfig& annotations = o.allocator.annotations;
  cli.add_option("--class-annotation", annotations.class_annotation, "the annotation that marks a Service")
      ->capture_default_str();
  cli.add_option("--ingress-class", annotations.ingress_class, "the value of --class-annotation that berth serves")
      ->capture_default_str();
  cli.add_option("--annotation-prefix", annotations.prefix,
                 "prefix of the write-back keys: <prefix>/<service port>: \"<host port>\"")
      ->capture_default_str();
  cli.add_option("--watch-namespace", o.allocator.watch_namespace, "only Services of this namespace; default all");
  std::vector<std::string> port_ranges;
  cli.add_option("--port-range", port_ranges, "host ports to allocate, e.g. 20000-29999 (repeatable; default 20000-29999)");
  std::string exclude_ports;
  cli.add_option("--exclude-ports", exclude_ports, "host ports never to allocate, e.g. 22,25000-25010");
  std::string quarantine = "10m";
  cli.add_option("--port-quarantine", quarantine,
                 "how long a released host port is kept from new Services (Go duration)")
      ->capture_default_str();
  cli.add_option("--max-ports-per-namespace", o.allocator.max_ports_per_namespace,
                 "host ports one namespace may hold (0: unlimited)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cli.add_option("--concurrent-syncs", o.allocator.workers, "Services synced in parallel")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));

  LeaderElectionOptions& le = o.leader_election;
  cli.add_flag("--leader-elect", le.enabled, "elect one allocator among replicas with a Lease");
  cli.add_option("--leader-election-namespace", le.lease_namespace, "namespace of the Leases")->capture_default_str();
  cli.add_option("--leader-election-id", le.lease_name,
                 "name of the leader-election Lease; the quarantine is kept on \"<id>-quarantine\"")
      ->capture_default_str();
  std::string lease_duration = "15s", renew_deadline = "10s", retry_period = "2s";
  cli.add_option("--leader-elect-lease-duration", lease_duration, "how long a leader's Lease is honoured")
      ->capture_default_str();
  cli.add_option("--leader-elect-renew-deadline", renew_deadline, "a leader that cannot renew for this long steps down")
      ->capture_default_str();
  cli.add_option("--leader-elect-retry-period", retry_period, "how often to try to acquire or renew the Lease")
      ->capture_default_str();
  DataplaneOptions& d = o.dataplane;
  cli.add_option("--dataplane", d.mode, "haproxy: serve the ports through HAProxy; none: allocate ports only")
      ->capture_default_str()
      ->check(CLI::IsMember({"haproxy", "none"}));
  cli.add_option("--haproxy-binary", d.haproxy_binary, "the haproxy executable")->capture_default_str();
  cli.add_option("--haproxy-config-dir", d.config_dir, "where haproxy.cfg and the server state are written")
      ->capture_default_str();
  cli.add_option("--haproxy-socket-dir", d.socket_dir, "where the master and admin sockets live (mode 0600)")
      ->capture_default_str();
  cli.add_option("--template", d.template_file, "a mustache template replacing the built-in HAProxy config template");
  cli.add_option("--haproxy-maxconn", d.global.maxconn, "HAProxy's global maxconn (it needs ~2x this many fds; 0: derived from its open-files limit)")
      ->capture_default_str()
      ->check(CLI::Range(0, 10000000));
  cli.add_option("--haproxy-nbthread", d.global.nbthread, "HAProxy threads (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1024));
  std::vector<std::string> bind_addresses;
  cli.add_option("--bind-address", bind_addresses,
                 "address the host ports listen on (repeatable; IPv4 or IPv6; \"::\" alone is dual-stack; default 0.0.0.0)");
  std::string log_target = "none";
  cli.add_option("--haproxy-log-target", log_target,
                 "where HAProxy writes the connection audit log, a line per TCP session: none, stdout, stderr, a syslog "
                 "socket path, or <ip>:<port> (UDP)")
      ->capture_default_str();
  cli.add_option("--max-old-workers", d.global.max_old_workers,
                 "old HAProxy workers kept after reloads before the oldest is stopped (0: unlimited, no session is cut)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  std::string check_interval = "2s";
  cli.add_option("--check-interval", check_interval, "interval of HAProxy's health checks")->capture_default_str();
  cli.add_option("--min-server-slots", d.min_server_slots,
                 "server slots per backend at least; endpoints beyond the slots need a reload")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cli.add_option("--listen-mode", d.listen_mode,
                 "range: the pool bound once, new ports exposed through the Runtime API with no reload; port: a "
                 "frontend per host port, a reload exposes a new one")
      ->capture_default_str()
      ->check(CLI::IsMember({"port", "range"}));
  cli.add_option("--range-backend-chunk", d.range_backend_chunk,
                 "range mode: backends added to a settings kind at once when its free ones run out (each growth is a reload)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cli.add_flag("--allow-loopback-endpoints", d.allow_loopback_endpoints,
               "serve endpoints on 127.0.0.0/8 and ::1 (a real API server refuses them; for one-machine demos and tests)");
  std::string gather_delay, min_reload_interval = "1s", check_period = "5s";
  cli.add_option("--gather-delay", gather_delay,
                 "how long changes are gathered into one apply (default: 20ms in the port mode, where an apply may be "
                 "a reload; 0s in range mode, where changes arriving during an apply are gathered anyway)");
  cli.add_option("--min-reload-interval", min_reload_interval, "the least time between two HAProxy reloads")
      ->capture_default_str();
  std::string haproxy_metrics_address = "0";
  cli.add_option("--haproxy-metrics-bind-address", haproxy_metrics_address,
                 "host:port, :port or [v6]:port where HAProxy serves its own Prometheus /metrics; 0 disables")
      ->capture_default_str();
  cli.add_option("--haproxy-check-period", check_period,
                 "how often berth checks that HAProxy runs and re-applies the config")
      ->capture_default_str();
  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every usage error exits 2 (as Go's flag package and kubectl do), whatever CLI11's code.
    const int code = cli.exit(e, std::cout, std::cerr);
    return ExitNow{code == 0 ? 0 : 2};
  }
  if (port_ranges.empty()) port_ranges = {"20000-29999"};
  auto done = finish(o, port_ranges, exclude_ports, quarantine, lease_duration, renew_deadline, retry_period);
  if (done) {
    done = finish_dataplane(o.dataplane, bind_addresses, log_target, check_interval, gather_delay, min_reload_interval,
                            check_period);
  }
  for (auto [flag, text, target] : {std::tuple{"--metrics-bind-address", &metrics_address, &o.metrics_address},
                                     std::tuple{"--health-probe-bind-address", &health_probe_address,
                                                &o.health_probe_address}}) {
    if (!done) break;
    auto parsed = metrics::parse_bind_address(*text);
    if (parsed) {
      *target = *parsed;
    } else {
      done = make_error(ErrorCode::kInvalidArgument, std::string(flag) + " " + parsed.error().message);
    }
  }
  if (done && o.metrics_address && o.health_probe_address && o.metrics_address->port != 0 &&
      o.metrics_address->port == o.health_probe_address->port) {
    done = make_error(ErrorCode::kInvalidArgument,
                      "--metrics-bind-address and --health-probe-bind-address must use different ports");
  }
  if (done) done = finish_haproxy_metrics(o, haproxy_metrics_address);
  if (!done) {
    std::cerr << "berth: " << done.error().message << "\n";
    return ExitNow{2};
  }
  return o;
}

}  // namespace berth::app
