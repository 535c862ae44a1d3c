#include "app/app.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <stop_token>
#include <string_view>
#include <atomic>
#include <thread>
#include <tuple>
#include <variant>

#include "app/exported_metrics.h"
#include "app/options.h"
#include "app/status_command.h"
#include "app/status_report.h"
#include "app/version.h"
#include "common/clock.h"
#include "common/go_duration.h"
#include "common/log.h"
#include "common/atomic_file.h"
#include "controller/service_controller.h"
#include "dataplane/haproxy_sync.h"
#include "dataplane/model_builder.h"
#include "haproxy/config_renderer.h"
#include "haproxy/range/range_driver.h"
#include "haproxy/driver.h"
#include "haproxy/master_socket.h"
#include "kube/async_event_sink.h"
#include "kube/cache_sync.h"
#include "kube/endpoint_slice.h"
#include "kube/kube_client.h"
#include "kube/kube_config.h"
#include "kube/reflector.h"
#include "kube/service.h"
#include "kube/store.h"
#include "leader/leader_elector.h"
#include "metrics/probe_server.h"
#include "metrics/registry.h"

namespace berth::app {
namespace {

// Blocks SIGTERM/SIGINT in every thread (threads inherit the mask, so block before starting
// any) and returns the set, so that the main thread alone takes them with sigwait().
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// The template HAProxy's config is rendered with: --template, else the built-in one.
Result<haproxy::ConfigRenderer> load_renderer(const DataplaneOptions& d) {
  if (d.template_file.empty()) return haproxy::ConfigRenderer::create(std::string(haproxy::ConfigRenderer::default_template()));
  auto text = read_whole_file(d.template_file);
  if (!text) return make_error(ErrorCode::kInvalidArgument, "--template " + text.error().message);
  auto renderer = haproxy::ConfigRenderer::create(std::move(*text));
  if (!renderer) return make_error(ErrorCode::kInvalidArgument, "--template " + d.template_file + ": " + renderer.error().message);
  return renderer;
}

// The config and socket directories, made (mode 0700: the sockets are admin level) if absent.
Result<void> make_directories(const DataplaneOptions& d) {
  for (const std::string& dir : {d.config_dir, d.socket_dir}) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return make_error(ErrorCode::kIo, "cannot create " + dir + ": " + ec.message());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::replace, ec);
  }
  return {};
}

}  // namespace

int run(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "status") return run_status_command(argc - 1, argv + 1);
  auto parsed = parse_command_line(argc, argv);
  if (auto* exit_now = std::get_if<ExitNow>(&parsed)) return exit_now->code;
  const Options& options = std::get<Options>(parsed);
  set_log_level(options.log_level);
  set_log_format(options.log_format);
  auto log = logger("berth");

  auto config = kube::resolve_config(options.kubeconfig, kube::process_env(), options.context);
  if (!config) {
    // One line, for the operator: the error names the file and the problem, never a token.
    std::fprintf(stderr, "berth: %s\n", config.error().message.c_str());
    return 1;
  }

  std::optional<leader::LeaderElectionConfig> election;
  if (options.leader_election.enabled) {
    const LeaderElectionOptions& le = options.leader_election;
    election = leader::LeaderElectionConfig{
        .lease_namespace = le.lease_namespace,
        .lease_name = le.lease_name,
        .identity = leader::default_identity(),
        .lease_duration = std::chrono::duration_cast<Clock::duration>(le.lease_duration),
        .renew_deadline = std::chrono::duration_cast<Clock::duration>(le.renew_deadline),
        .retry_period = std::chrono::duration_cast<Clock::duration>(le.retry_period)};
    if (auto valid = leader::validate(*election); !valid) {
      std::fprintf(stderr, "berth: %s\n", valid.error().message.c_str());
      return 2;
    }
  }

  const DataplaneOptions& dp = options.dataplane;
  std::optional<haproxy::ConfigRenderer> renderer;
  if (dp.enabled()) {
    auto loaded = load_renderer(dp);
    if (!loaded) {
      std::fprintf(stderr, "berth: %s\n", loaded.error().message.c_str());
      return 2;
    }
    renderer = std::move(*loaded);
    if (auto made = make_directories(dp); !made) {
      std::fprintf(stderr, "berth: %s\n", made.error().message.c_str());
      return 1;
    }
  }

  const sigset_t stop_signals = block_stop_signals();
  Clock& clock = SystemClock::instance();
  const kube::KubeClientOptions client_options{.qps = options.kube_api_qps, .burst = options.kube_api_burst};
  auto client = kube::KubeClient::create(*config, client_options, clock);
  // Events and the Lease get clients of their own (own connections and rate limiter), as
  // kube-controller-manager does: a burst of allocations must neither delay a Lease renewal
  // past its deadline nor be slowed down by the Events it raises.
  auto event_client = kube::KubeClient::create(*config, client_options, clock);
  auto lease_client = kube::KubeClient::create(*config, client_options, clock);
  log->info("starting version={} api={} source=\"{}\" port_range={} exclude={} quarantine={} leader_elect={} "
            "dataplane={}",
            kVersion, config->server, config->source, options.allocator.port_range.to_string(),
            options.allocator.excluded.to_string(),
            format_go_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(options.allocator.quarantine)),
            election.has_value(), dp.mode);

  kube::AsyncEventSink events(event_client->api(), clock);
  kube::Store<kube::Service> services;
  kube::Store<kube::EndpointSlice> slices;
  controller::ServiceController allocator(client->api(), services, events, clock, options.allocator);
  const std::string& ns = options.allocator.watch_namespace;

  metrics::Registry registry;

  // The data plane: every replica serves, whether or not it allocates.
  std::unique_ptr<haproxy::MasterSocket> master_cli;
  std::unique_ptr<haproxy::Driver> driver;
  std::unique_ptr<haproxy::RangeDriver> range_driver;
  std::unique_ptr<dataplane::ModelBuilder> builder;
  std::unique_ptr<dataplane::HaproxySync> haproxy_sync;
  if (dp.enabled()) {
    master_cli = std::make_unique<haproxy::MasterSocket>(dp.master_socket(), std::chrono::seconds(10));
    const haproxy::HaproxyPaths paths{.binary = dp.haproxy_binary,
                                      .config = dp.config_path(),
                                      .master_socket = dp.master_socket(),
                                      .pid_file = dp.socket_dir + "/haproxy.pid",
                                      .master_log = dp.config_dir + "/haproxy-master.log"};
    if (dp.range_mode()) {
      haproxy::RangeDriverSettings range_settings{
          .paths = paths, .policy = {.chunk = dp.range_backend_chunk, .min_servers = dp.min_server_slots}};
      const auto pool = options.allocator.port_range.minus(options.allocator.excluded);
      for (const auto& range : pool.ranges()) {
        range_settings.pool.push_back({range.first, range.last});
      }
      range_driver = std::make_unique<haproxy::RangeDriver>(std::move(range_settings), *master_cli, clock);
    } else {
      driver = std::make_unique<haproxy::Driver>(haproxy::DriverSettings{.paths = paths, .slots = {.min_slots = dp.min_server_slots}},
                                                 *renderer, *master_cli, clock);
    }
    builder = std::make_unique<dataplane::ModelBuilder>(options.allocator.annotations,
                                                        options.allocator.port_range.minus(options.allocator.excluded),
                                                        dp.allow_loopback_endpoints);
    auto to_clock = [](std::chrono::nanoseconds d) { return std::chrono::duration_cast<Clock::duration>(d); };
    haproxy_sync = std::make_unique<dataplane::HaproxySync>(
        services, slices, *builder, range_driver ? static_cast<haproxy::Applier&>(*range_driver) : *driver, events, clock,
        dataplane::SyncConfig{.global = dp.global,
                              .gather_delay = to_clock(dp.gather_delay),
                              .min_reload_interval = to_clock(dp.min_reload_interval),
                              .resync_period = to_clock(dp.check_period),
                              .observe_apply = apply_observer(registry)},
        [&](int host_port) {
          // Only the allocating replica may move the Service; the others leave the port unserved here.
          if (allocator.rebuilt()) {
            if (auto moved = allocator.mark_port_unusable(host_port); !moved) {
              log->warn("cannot move the Service off host port {}: {}", host_port, moved.error().describe());
            }
          }
        });
  }
  // /metrics and the probes: read from the components above at each request.
  std::atomic<bool> caches_synced{false}, leading{false};
  // The listen mode's driver as the exporters see it: its counters, and in range mode the
  // backend of each port and the map that names them.
  std::function<haproxy::DriverStats()> driver_stats;
  std::function<std::string(int)> proxy_of;
  std::optional<std::string> range_ports_map;
  if (driver) driver_stats = [&] { return driver->stats(); };
  if (range_driver) {
    driver_stats = [&] { return range_driver->stats(); };
    proxy_of = [&](int port) { return range_driver->backend_of(port); };
    range_ports_map = range_driver->files().ports_map.string();
  }
  const MetricSources metric_sources{.allocator = allocator,
                                     .haproxy_sync = haproxy_sync.get(),
                                     .driver_stats = driver_stats,
                                     .proxy_of = proxy_of,
                                     .services = services,
                                     .slices = slices,
                                     .caches_synced = caches_synced,
                                     .leading = leading};
  register_exported_metrics(registry, metric_sources);
  // GET /status (`berth status`) asks HAProxy through a master CLI of its own: MasterSocket is
  // thread-safe, and the Driver's belongs to the sync thread.
  std::unique_ptr<haproxy::MasterSocket> status_cli;
  if (dp.enabled()) status_cli = std::make_unique<haproxy::MasterSocket>(dp.master_socket(), std::chrono::seconds(5));
  const StatusSources status_sources{.haproxy_sync = haproxy_sync.get(),
                                     .master_cli = status_cli.get(),
                                     .range_ports_map = range_ports_map,
                                     .leading = leading,
                                     .readiness = [&] { return readiness(metric_sources); }};
  metrics::ProbeServer metrics_server(&registry, {}, [&] { return status_report(status_sources).dump(); });
  metrics::ProbeServer probe_server(nullptr, [&] { return readiness(metric_sources); });
  for (auto [server, address, flag, paths] :
       {std::tuple{&metrics_server, &options.metrics_address, "--metrics-bind-address", "/metrics /status"},
        std::tuple{&probe_server, &options.health_probe_address, "--health-probe-bind-address", "/healthz /readyz"}}) {
    if (!*address) continue;
    auto bound = server->start(**address);
    if (!bound) {
      std::fprintf(stderr, "berth: %s: %s\n", flag, bound.error().message.c_str());
      return 1;
    }
    log->info("serving {} address={}", paths, metrics::BindAddress{(*address)->host, *bound}.to_string());
  }

  auto notify_dataplane = [&] {
    if (haproxy_sync) haproxy_sync->notify();
  };
  kube::Reflector<kube::Service> service_reflector(client->api(), kube::kServices, ns, {}, services,
                                                   kube::parse_service, clock, {}, [&](const std::string& key) {
                                                     allocator.enqueue(key);
                                                     notify_dataplane();
                                                   });
  kube::Reflector<kube::EndpointSlice> slice_reflector(client->api(), kube::kEndpointSlices, ns, {}, slices,
                                                       kube::parse_endpoint_slice, clock, {},
                                                       [&](const std::string&) { notify_dataplane(); });
  register_reflector_metrics(registry, {{"Service", &service_reflector}, {"EndpointSlice", &slice_reflector}});
  register_api_client_metrics(registry,
                              {{"main", &client->api()}, {"events", &event_client->api()}, {"lease", &lease_client->api()}});
  allocator.set_sync_observer(allocator_sync_observer(registry));
  // The allocator's own writes reach the Store before their watch events, which then change
  // nothing: the data plane must hear of a new host port from the allocator.
  allocator.set_store_observer([&](const std::string&) { notify_dataplane(); });

  {
    std::jthread service_thread([&](std::stop_token t) { service_reflector.run(t); });
    std::jthread slice_thread([&](std::stop_token t) { slice_reflector.run(t); });
    std::jthread dataplane_thread;
    if (haproxy_sync) {
      dataplane_thread = std::jthread([&](std::stop_token t) {
        if (!kube::wait_for_cache_sync({[&] { return service_reflector.has_synced(); },
                                        [&] { return slice_reflector.has_synced(); }},
                                       t, clock, std::chrono::hours(24 * 365))) {
          return;
        }
        haproxy_sync->run(t);
      });
    }
    std::jthread allocator_thread([&](std::stop_token t) {
      if (!kube::wait_for_cache_sync({[&] { return service_reflector.has_synced(); },
                                      [&] { return slice_reflector.has_synced(); }},
                                     t, clock, std::chrono::hours(24 * 365))) {
        return;
      }
      log->info("caches synced services={} endpointslices={}", services.size(), slices.size());
      caches_synced = true;
      auto allocate = [&](std::stop_token term) {
        leading = true;
        allocator.run(term);
        leading = false;
      };
      if (!election) {
        allocate(t);
        return;
      }
      leader::LeaderElector elector(lease_client->api(), clock, *election, {.on_started_leading = allocate});
      elector.run(t);
    });

    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    log->info("stopping signal={}", signal_number);
    // The allocator first: its workers finish their current sync and the elector releases the
    // Lease (so a standby takes over at once) while the API clients still work.
    allocator_thread.request_stop();
    allocator_thread.join();
    // The data plane stops applying; HAProxy keeps running and serving (berth never stops it).
    dataplane_thread.request_stop();
    if (dataplane_thread.joinable()) dataplane_thread.join();
    client->api().shutdown();  // aborts in-flight watches and retry sleeps
    service_thread.request_stop();
    slice_thread.request_stop();
  }  // jthreads join here
  metrics_server.stop();
  probe_server.stop();
  events.stop();
  log->info("stopped");
  return 0;
}

}  // namespace berth::app
