#include "app/app.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <stop_token>
#include <thread>
#include <variant>

#include "app/options.h"
#include "app/version.h"
#include "common/clock.h"
#include "common/go_duration.h"
#include "common/log.h"
#include "controller/service_controller.h"
#include "kube/async_event_sink.h"
#include "kube/cache_sync.h"
#include "kube/endpoint_slice.h"
#include "kube/kube_client.h"
#include "kube/kube_config.h"
#include "kube/reflector.h"
#include "kube/service.h"
#include "kube/store.h"
#include "leader/leader_elector.h"

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

}  // namespace

int run(int argc, char** argv) {
  auto parsed = parse_command_line(argc, argv);
  if (auto* exit_now = std::get_if<ExitNow>(&parsed)) return exit_now->code;
  const Options& options = std::get<Options>(parsed);
  set_log_level(options.log_level);
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

  const sigset_t stop_signals = block_stop_signals();
  Clock& clock = SystemClock::instance();
  const kube::KubeClientOptions client_options{.qps = options.kube_api_qps, .burst = options.kube_api_burst};
  auto client = kube::KubeClient::create(*config, client_options, clock);
  // Events and the Lease get clients of their own (own connections and rate limiter), as
  // kube-controller-manager does: a burst of allocations must neither delay a Lease renewal
  // past its deadline nor be slowed down by the Events it raises.
  auto event_client = kube::KubeClient::create(*config, client_options, clock);
  auto lease_client = kube::KubeClient::create(*config, client_options, clock);
  log->info("starting version={} api={} source=\"{}\" port_range={} exclude={} quarantine={} leader_elect={}",
            kVersion, config->server, config->source, options.allocator.port_range.to_string(),
            options.allocator.excluded.to_string(),
            format_go_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(options.allocator.quarantine)),
            election.has_value());

  kube::AsyncEventSink events(event_client->api(), clock);
  kube::Store<kube::Service> services;
  kube::Store<kube::EndpointSlice> slices;
  controller::ServiceController allocator(client->api(), services, events, clock, options.allocator);
  const std::string& ns = options.allocator.watch_namespace;
  kube::Reflector<kube::Service> service_reflector(client->api(), kube::kServices, ns, {}, services,
                                                   kube::parse_service, clock, {},
                                                   [&](const std::string& key) { allocator.enqueue(key); });
  kube::Reflector<kube::EndpointSlice> slice_reflector(client->api(), kube::kEndpointSlices, ns, {}, slices,
                                                       kube::parse_endpoint_slice, clock);

  {
    std::jthread service_thread([&](std::stop_token t) { service_reflector.run(t); });
    std::jthread slice_thread([&](std::stop_token t) { slice_reflector.run(t); });
    std::jthread allocator_thread([&](std::stop_token t) {
      if (!kube::wait_for_cache_sync({[&] { return service_reflector.has_synced(); },
                                      [&] { return slice_reflector.has_synced(); }},
                                     t, clock, std::chrono::hours(24 * 365))) {
        return;
      }
      log->info("caches synced services={} endpointslices={}", services.size(), slices.size());
      if (!election) {
        allocator.run(t);
        return;
      }
      leader::LeaderElector elector(lease_client->api(), clock, *election,
                                    {.on_started_leading = [&](std::stop_token term) { allocator.run(term); }});
      elector.run(t);
    });

    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    log->info("stopping signal={}", signal_number);
    // The allocator first: its workers finish their current sync and the elector releases the
    // Lease (so a standby takes over at once) while the API clients still work.
    allocator_thread.request_stop();
    allocator_thread.join();
    client->api().shutdown();  // aborts in-flight watches and retry sleeps
    service_thread.request_stop();
    slice_thread.request_stop();
  }  // jthreads join here
  events.stop();
  log->info("stopped");
  return 0;
}

}  // namespace berth::app
