// The metrics berth exports on --metrics-bind-address and what /readyz answers, read from the
// components at each scrape (a collector), so no component depends on the metrics library.
//
// Names (all prefixed berth_): build_info{version}; leader (1 while this replica allocates);
// caches_synced; cached_objects{kind}; pool_ports{state=allocated|free|quarantined|unusable}
// and pool_size; allocator_syncs_total, allocator_failed_syncs_total, allocator_writes_total,
// allocator_write_conflicts_total; dataplane_syncs_total, dataplane_failed_syncs_total,
// dataplane_applied_syncs_total and haproxy_listeners; from the Driver haproxy_starts_total,
// haproxy_restarts_total, haproxy_adoptions_total, haproxy_reloads_total,
// haproxy_failed_reloads_total, haproxy_rejected_configs_total, haproxy_runtime_updates_total
// and haproxy_old_workers; the histograms and API counts of the functions below.
// docs/operations.md lists them.
//
// Thread-safety: the collector runs on the scrape's thread and only reads the components'
// thread-safe accessors.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "controller/service_controller.h"
#include "dataplane/haproxy_sync.h"
#include "haproxy/driver.h"
#include "kube/endpoint_slice.h"
#include "kube/reflector.h"
#include "kube/rest_client.h"
#include "kube/service.h"
#include "kube/store.h"
#include "metrics/probe_server.h"
#include "metrics/registry.h"

namespace berth::app {

struct MetricSources {
  const controller::ServiceController& allocator;
  const dataplane::HaproxySync* haproxy_sync;  // null with --dataplane=none
  // The listen mode's driver's counters (haproxy/driver.h); empty with --dataplane=none.
  std::function<haproxy::DriverStats()> driver_stats;
  // The HAProxy proxy serving a host port, for berth_listener_info's proxy label: "p<port>" in the
  // per-port mode, the port's backend in range mode. Empty: the per-port names.
  std::function<std::string(int)> proxy_of;
  const kube::Store<kube::Service>& services;
  const kube::Store<kube::EndpointSlice>& slices;
  const std::atomic<bool>& caches_synced;
  const std::atomic<bool>& leading;
};

void register_exported_metrics(metrics::Registry& registry, const MetricSources& sources);

// berth_reflector_{lists,relists,list_restarts,watches,watch_restarts,failures,skipped_objects}_total
// {kind}: each watched kind's LIST/WATCH loop. Reflectors are made after the other components,
// so they are registered on their own; safe while /metrics is being served.
void register_reflector_metrics(metrics::Registry& registry,
                                std::vector<std::pair<std::string, const kube::ReflectorBase*>> reflectors);

// berth_kube_api_requests_total{client,code}: what the API answered each named client's
// attempts (kube/response_counter.h). Safe while /metrics is being served.
void register_api_client_metrics(metrics::Registry& registry,
                                 std::vector<std::pair<std::string, const kube::RestClient*>> clients);

// What the allocator reports after each sync (ServiceController::set_sync_observer):
// berth_allocator_sync_duration_seconds.
std::function<void(Clock::duration)> allocator_sync_observer(metrics::Registry& registry);

// What the data plane's sync loop reports after each apply (SyncConfig::observe_apply):
// berth_dataplane_apply_duration_seconds{action} (every apply),
// berth_haproxy_reload_duration_seconds (reloads and starts that succeeded) and
// berth_haproxy_reload_reasons_total{reason} (each kind once per reload).
std::function<void(const haproxy::ApplyResult&, Clock::duration)> apply_observer(metrics::Registry& registry);

// Ready when the caches have synced and, with a data plane, HAProxy has been brought in line
// with them at least once; otherwise the reason.
metrics::Readiness readiness(const MetricSources& sources);

}  // namespace berth::app
