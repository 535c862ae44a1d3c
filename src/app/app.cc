#include "app/app.h"

#include <signal.h>

#include <chrono>
#include <cstdio>
#include <stop_token>
#include <thread>
#include <variant>

#include "app/options.h"
#include "app/version.h"
#include "common/clock.h"
#include "common/log.h"
#include "kube/cache_sync.h"
#include "kube/endpoint_slice.h"
#include "kube/kube_client.h"
#include "kube/kube_config.h"
#include "kube/reflector.h"
#include "kube/service.h"
#include "kube/store.h"

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

  const sigset_t stop_signals = block_stop_signals();
  Clock& clock = SystemClock::instance();
  auto client = kube::KubeClient::create(*config, {.qps = options.kube_api_qps, .burst = options.kube_api_burst},
                                         clock);
  log->info("starting version={} api={} source=\"{}\"", kVersion, config->server, config->source);

  kube::Store<kube::Service> services;
  kube::Store<kube::EndpointSlice> slices;
  kube::Reflector<kube::Service> service_reflector(client->api(), kube::kServices, "", {}, services,
                                                   kube::parse_service, clock);
  kube::Reflector<kube::EndpointSlice> slice_reflector(client->api(), kube::kEndpointSlices, "", {}, slices,
                                                       kube::parse_endpoint_slice, clock);

  {
    std::jthread service_thread([&](std::stop_token t) { service_reflector.run(t); });
    std::jthread slice_thread([&](std::stop_token t) { slice_reflector.run(t); });
    std::jthread sync_waiter([&](std::stop_token t) {
      if (kube::wait_for_cache_sync({[&] { return service_reflector.has_synced(); },
                                     [&] { return slice_reflector.has_synced(); }},
                                    t, clock, std::chrono::hours(24 * 365))) {
        log->info("caches synced services={} endpointslices={}", services.size(), slices.size());
      }
    });

    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    log->info("stopping signal={}", signal_number);
    client->api().shutdown();  // aborts in-flight requests and retry sleeps
    service_thread.request_stop();
    slice_thread.request_stop();
    sync_waiter.request_stop();
  }  // jthreads join here
  log->info("stopped");
  return 0;
}

}  // namespace berth::app
