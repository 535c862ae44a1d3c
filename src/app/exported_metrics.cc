#include "app/exported_metrics.h"

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "app/version.h"
#include "haproxy/update_plan.h"

namespace berth::app {
namespace {

// A counter that mirrors one count of a component's stats struct.
template <typename Stats>
struct MirroredCounter {
  metrics::Family<metrics::Counter>& family;
  std::uint64_t Stats::*field;
};

template <typename Stats>
void mirror(const std::vector<MirroredCounter<Stats>>& counters, const Stats& stats,
            const std::vector<std::string>& labels = {}) {
  for (const auto& c : counters) c.family.with(labels).mirror(static_cast<double>(stats.*c.field));
}

}  // namespace

void register_exported_metrics(metrics::Registry& registry, const MetricSources& sources) {
  registry.gauge("berth_build_info", "Always 1; the version of this berth as a label.", {"version"})
      .with({std::string(kVersion)})
      .set(1);
  auto& leader = registry.gauge("berth_leader", "1 while this replica is the one that allocates host ports.");
  auto& synced = registry.gauge("berth_caches_synced", "1 once the Service and EndpointSlice caches have synced.");
  auto& cached = registry.gauge("berth_cached_objects", "Objects in berth's caches.", {"kind"});
  auto& pool = registry.gauge("berth_pool_ports", "Host ports of the pool by state.", {"state"});
  auto& pool_size = registry.gauge("berth_pool_size", "Host ports in the pool (ranges minus exclusions).");
  using controller::ServiceControllerStats;
  const std::vector<MirroredCounter<ServiceControllerStats>> allocator_counters = {
      {registry.counter("berth_allocator_syncs_total", "Service syncs of the allocator."),
       &ServiceControllerStats::syncs},
      {registry.counter("berth_allocator_failed_syncs_total", "Allocator syncs that failed and were requeued."),
       &ServiceControllerStats::failed_syncs},
      {registry.counter("berth_allocator_writes_total", "Allocation annotation patches that succeeded."),
       &ServiceControllerStats::writes},
      {registry.counter("berth_allocator_write_conflicts_total",
                        "Allocation patches refused with 409 Conflict (re-read and retried)."),
       &ServiceControllerStats::conflicts}};
  registry.add_collector([sources, allocator_counters, &leader, &synced, &cached, &pool, &pool_size] {
    leader.with({}).set(sources.leading.load() ? 1 : 0);
    synced.with({}).set(sources.caches_synced.load() ? 1 : 0);
    cached.with({"Service"}).set(static_cast<double>(sources.services.size()));
    cached.with({"EndpointSlice"}).set(static_cast<double>(sources.slices.size()));
    // The pool exists once the allocator has rebuilt it from the annotations.
    if (sources.allocator.rebuilt()) {
      const auto counts = sources.allocator.pool_counts();
      pool.with({"allocated"}).set(static_cast<double>(counts.allocated));
      pool.with({"free"}).set(static_cast<double>(counts.free));
      pool.with({"quarantined"}).set(static_cast<double>(counts.quarantined));
      pool.with({"unusable"}).set(static_cast<double>(counts.unusable));
      pool_size.with({}).set(static_cast<double>(counts.size));
    }
    mirror(allocator_counters, sources.allocator.stats());
  });

  if (sources.haproxy_sync) {
    using dataplane::SyncStats;
    const std::vector<MirroredCounter<SyncStats>> sync_counters = {
        {registry.counter("berth_dataplane_syncs_total", "Data-plane syncs (config builds and applies)."),
         &SyncStats::syncs},
        {registry.counter("berth_dataplane_failed_syncs_total", "Data-plane syncs whose apply failed (retried)."),
         &SyncStats::failed_syncs},
        {registry.counter("berth_dataplane_applied_syncs_total",
                          "Data-plane syncs that left HAProxy serving the desired config."),
         &SyncStats::applied_syncs}};
    auto& listeners = registry.gauge("berth_haproxy_listeners", "Listeners (host ports) in the desired HAProxy config.");
    auto& listener_info = registry.gauge(
        "berth_listener_info",
        "1 for each host port HAProxy serves here, naming its Service; proxy is HAProxy's frontend and backend name, "
        "for joins with HAProxy's own metrics.",
        {"proxy", "host_port", "service", "service_port"});
    const auto proxy_of = sources.proxy_of ? sources.proxy_of : [](int port) { return haproxy::proxy_name(port); };
    registry.add_collector([sync = sources.haproxy_sync, sync_counters, &listeners, &listener_info, proxy_of] {
      const auto stats = sync->stats();
      mirror(sync_counters, stats);
      listeners.with({}).set(static_cast<double>(stats.listeners));
      std::set<std::vector<std::string>> serving;
      for (const dataplane::ServedPort& port : sync->serving_status()->ports) {
        if (port.state != dataplane::ServedPort::State::kServing) continue;
        std::vector<std::string> labels{proxy_of(port.host_port), std::to_string(port.host_port),
                                        port.service, std::to_string(port.service_port)};
        listener_info.with(labels).set(1);
        serving.insert(std::move(labels));
      }
      listener_info.retain(serving);
    });
  }

  if (sources.driver_stats) {
    using haproxy::DriverStats;
    const std::vector<MirroredCounter<DriverStats>> driver_counters = {
        {registry.counter("berth_haproxy_starts_total", "HAProxy masters berth started (the first and restarts)."),
         &DriverStats::starts},
        {registry.counter("berth_haproxy_restarts_total", "HAProxy masters started after one berth knew had died."),
         &DriverStats::restarts},
        {registry.counter("berth_haproxy_adoptions_total", "Running HAProxy masters berth took over at its start."),
         &DriverStats::adoptions},
        {registry.counter("berth_haproxy_reloads_total", "Confirmed HAProxy reloads."), &DriverStats::reloads},
        {registry.counter("berth_haproxy_failed_reloads_total", "HAProxy reloads or starts HAProxy refused."),
         &DriverStats::failed_reloads},
        {registry.counter("berth_haproxy_rejected_configs_total", "Candidate configs `haproxy -c` refused."),
         &DriverStats::rejected_configs},
        {registry.counter("berth_haproxy_runtime_updates_total", "Applies done with Runtime API commands, no reload."),
         &DriverStats::runtime_updates}};
    auto& old_workers = registry.gauge("berth_haproxy_old_workers",
                                       "Old HAProxy workers still draining their sessions after a reload.");
    registry.add_collector([driver_stats = sources.driver_stats, driver_counters, &old_workers] {
      const auto stats = driver_stats();
      mirror(driver_counters, stats);
      old_workers.with({}).set(static_cast<double>(stats.old_workers));
    });
  }
}

void register_reflector_metrics(metrics::Registry& registry,
                                std::vector<std::pair<std::string, const kube::ReflectorBase*>> reflectors) {
  using kube::ReflectorStats;
  const std::vector<MirroredCounter<ReflectorStats>> counters = {
      {registry.counter("berth_reflector_lists_total", "Complete LISTs of a watched kind, the first included.",
                        {"kind"}),
       &ReflectorStats::lists},
      {registry.counter("berth_reflector_relists_total", "LISTs after the first (the watch fell behind: 410 Gone).",
                        {"kind"}),
       &ReflectorStats::relists},
      {registry.counter("berth_reflector_list_restarts_total", "LISTs restarted because a continue token expired.",
                        {"kind"}),
       &ReflectorStats::list_restarts},
      {registry.counter("berth_reflector_watches_total", "WATCH requests made.", {"kind"}), &ReflectorStats::watches},
      {registry.counter("berth_reflector_watch_restarts_total", "WATCHes resumed from the last resourceVersion.",
                        {"kind"}),
       &ReflectorStats::watch_restarts},
      {registry.counter("berth_reflector_failures_total", "Failed LIST or WATCH attempts, each followed by a backoff.",
                        {"kind"}),
       &ReflectorStats::failures},
      {registry.counter("berth_reflector_skipped_objects_total", "Malformed objects logged and skipped.", {"kind"}),
       &ReflectorStats::skipped_objects}};
  registry.add_collector([counters, reflectors = std::move(reflectors)] {
    for (const auto& [kind, reflector] : reflectors) mirror(counters, reflector->stats(), {kind});
  });
}

void register_api_client_metrics(metrics::Registry& registry,
                                 std::vector<std::pair<std::string, const kube::RestClient*>> clients) {
  auto& requests = registry.counter("berth_kube_api_requests_total",
                                    "Attempts of requests to the Kubernetes API (retries included) by client and "
                                    "answer: the HTTP status code, or transport when none came.",
                                    {"client", "code"});
  registry.add_collector([&requests, clients = std::move(clients)] {
    for (const auto& [name, client] : clients) {
      for (const auto& [code, count] : client->responses().snapshot()) {
        requests.with({name, code}).mirror(static_cast<double>(count));
      }
    }
  });
}

std::function<void(Clock::duration)> allocator_sync_observer(metrics::Registry& registry) {
  auto& duration = registry.histogram("berth_allocator_sync_duration_seconds",
                                      "Time of each allocator sync of one Service, API writes included.", {},
                                      {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  return [&duration](Clock::duration took) { duration.with({}).observe(std::chrono::duration<double>(took).count()); };
}

std::function<void(const haproxy::ApplyResult&, Clock::duration)> apply_observer(metrics::Registry& registry) {
  auto& duration = registry.histogram("berth_haproxy_reload_duration_seconds",
                                      "Time of HAProxy reloads and starts that succeeded, from the sync's start "
                                      "of the apply to the new worker confirmed.",
                                      {}, {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  auto& reasons = registry.counter("berth_haproxy_reload_reasons_total",
                                   "HAProxy reloads and starts by kind of reason (a reload with several kinds counts "
                                   "once for each).",
                                   {"reason"});
  auto& applies = registry.histogram("berth_dataplane_apply_duration_seconds",
                                     "Time of each data-plane apply by what it did: none (HAProxy already served "
                                     "the config), runtime (Runtime API commands), reload or start; failed applies "
                                     "count as failed.",
                                     {"action"}, {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30});
  return [&duration, &reasons, &applies](const haproxy::ApplyResult& result, Clock::duration took) {
    applies.with({std::string(result.label())}).observe(std::chrono::duration<double>(took).count());
    if (!result.reloaded()) return;
    std::set<std::string_view> kinds;
    for (const auto& reason : result.reasons) kinds.insert(haproxy::reload_reason_kind(reason));
    for (auto kind : kinds) reasons.with({std::string(kind)}).inc();
    if (result.ok()) duration.with({}).observe(std::chrono::duration<double>(took).count());
  };
}

metrics::Readiness readiness(const MetricSources& sources) {
  if (!sources.caches_synced.load()) return {false, "the Service and EndpointSlice caches have not synced yet"};
  if (sources.haproxy_sync && sources.haproxy_sync->stats().applied_syncs == 0) {
    return {false, "HAProxy has not been brought in line with the cluster yet"};
  }
  return {true, ""};
}

}  // namespace berth::app
