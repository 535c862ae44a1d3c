#include "app/exported_metrics.h"

#include "app/version.h"

namespace berth::app {

void register_exported_metrics(metrics::Registry& registry, const MetricSources& sources) {
  registry.gauge("berth_build_info", "Always 1; the version of this berth as a label.", {"version"})
      .with({std::string(kVersion)})
      .set(1);
  auto& leader = registry.gauge("berth_leader", "1 while this replica is the one that allocates host ports.");
  auto& synced = registry.gauge("berth_caches_synced", "1 once the Service and EndpointSlice caches have synced.");
  auto& cached = registry.gauge("berth_cached_objects", "Objects in berth's caches.", {"kind"});
  auto& pool = registry.gauge("berth_pool_ports", "Host ports of the pool by state.", {"state"});
  auto& pool_size = registry.gauge("berth_pool_size", "Host ports in the pool (ranges minus exclusions).");
  auto& allocator_syncs = registry.counter("berth_allocator_syncs_total", "Service syncs of the allocator.");
  auto& allocator_failed =
      registry.counter("berth_allocator_failed_syncs_total", "Allocator syncs that failed and were requeued.");
  auto& writes = registry.counter("berth_allocator_writes_total", "Allocation annotation patches that succeeded.");
  auto& conflicts = registry.counter("berth_allocator_write_conflicts_total",
                                     "Allocation patches refused with 409 Conflict (re-read and retried).");
  metrics::Family<metrics::Counter>* dataplane_syncs = nullptr;
  metrics::Family<metrics::Counter>* dataplane_failed = nullptr;
  metrics::Family<metrics::Counter>* dataplane_applied = nullptr;
  metrics::Family<metrics::Gauge>* listeners = nullptr;
  if (sources.haproxy_sync) {
    dataplane_syncs = &registry.counter("berth_dataplane_syncs_total", "Data-plane syncs (config builds and applies).");
    dataplane_failed =
        &registry.counter("berth_dataplane_failed_syncs_total", "Data-plane syncs whose apply failed (retried).");
    dataplane_applied = &registry.counter("berth_dataplane_applied_syncs_total",
                                          "Data-plane syncs that left HAProxy serving the desired config.");
    listeners = &registry.gauge("berth_haproxy_listeners", "Listeners (host ports) in the desired HAProxy config.");
  }
  registry.add_collector([sources, dataplane_syncs, dataplane_failed, dataplane_applied, listeners, &leader, &synced,
                          &cached, &pool, &pool_size, &allocator_syncs,
                          &allocator_failed, &writes, &conflicts] {
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
    const auto a = sources.allocator.stats();
    allocator_syncs.with({}).mirror(static_cast<double>(a.syncs));
    allocator_failed.with({}).mirror(static_cast<double>(a.failed_syncs));
    writes.with({}).mirror(static_cast<double>(a.writes));
    conflicts.with({}).mirror(static_cast<double>(a.conflicts));
    if (sources.haproxy_sync) {
      const auto d = sources.haproxy_sync->stats();
      dataplane_syncs->with({}).mirror(static_cast<double>(d.syncs));
      dataplane_failed->with({}).mirror(static_cast<double>(d.failed_syncs));
      dataplane_applied->with({}).mirror(static_cast<double>(d.applied_syncs));
      listeners->with({}).set(static_cast<double>(d.listeners));
    }
  });
}

metrics::Readiness readiness(const MetricSources& sources) {
  if (!sources.caches_synced.load()) return {false, "the Service and EndpointSlice caches have not synced yet"};
  if (sources.haproxy_sync && sources.haproxy_sync->stats().applied_syncs == 0) {
    return {false, "HAProxy has not been brought in line with the cluster yet"};
  }
  return {true, ""};
}

}  // namespace berth::app
