// The data plane's sync loop: every replica (leader or not) turns the cached Services and
// EndpointSlices into a Model and has the Applier (the Driver, haproxy/driver.h) apply it.
//
//   HaproxySync sync(services, slices, builder, driver, events, clock, config, on_port_unavailable);
//   Reflector handlers: [&](const std::string&) { sync.notify(); }
//   once the caches have synced: sync.run(stop);
//
// One sync key for the whole config (sample-controller's queue with a single key): a burst of
// changes becomes one apply. notify() queues the key after `gather_delay`, so changes arriving
// within that window are applied together; a change during an apply queues one more. When the
// next apply would reload HAProxy and the last reload was less than `min_reload_interval` ago,
// the sync waits for the rest of the interval (gathering more changes); server-only changes
// go through the Runtime API at once. Each apply is told which host ports changed since the
// previous apply's Model (the builder's changed_ports, gathered), so range mode plans only
// those. Every `resync_period` the key is synced anyway: that
// notices a dead HAProxy (the Driver starts a new one) and retries what failed.
//
// Events (once per state, like the allocator's): Warning InvalidOption / InvalidName /
// InvalidEndpoint / NoClusterIP from the ModelBuilder; PortUnavailable when another process
// holds the Service's host port (on_port_unavailable(port) is then called, so the allocator,
// when this replica is the allocator, moves the Service to another port); ConfigRejected when
// HAProxy refused the config because of this Service's listener.
//
// After each sync it updates the ServingStatus (serving_status.h, kept port by port by
// serving_status_tracker.h, made into a snapshot when asked): every marked TCP port, its
// host port, and whether HAProxy serves it here.
//
// Thread-safety: notify(), stats() and serving_status() from any thread; run() once.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stop_token>
#include <string>

#include "common/clock.h"
#include "controller/allocator.h"
#include "dataplane/model_builder.h"
#include "dataplane/serving_status.h"
#include "dataplane/serving_status_tracker.h"
#include "haproxy/applier.h"
#include "kube/endpoint_slice.h"
#include "kube/event_sink.h"
#include "kube/service.h"
#include "kube/store.h"
#include "workqueue/rate_limiting_queue.h"

namespace spdlog {
class logger;
}

namespace berth::dataplane {

struct SyncConfig {
  haproxy::GlobalSettings global;
  Clock::duration gather_delay = std::chrono::milliseconds(20);       // --gather-delay
  Clock::duration min_reload_interval = std::chrono::seconds(1);      // --min-reload-interval
  Clock::duration resync_period = std::chrono::seconds(5);            // --haproxy-check-period
  // Called after every apply with its result and how long it took (metrics); may be empty.
  std::function<void(const haproxy::ApplyResult&, Clock::duration)> observe_apply;
};

struct SyncStats {
  std::uint64_t syncs = 0;
  std::uint64_t failed_syncs = 0;
  std::uint64_t applied_syncs = 0;  // syncs whose apply succeeded (readiness: at least one)
  std::uint64_t listeners = 0;      // in the last desired Model
};

class HaproxySync {
 public:
  HaproxySync(kube::Store<kube::Service>& services, kube::Store<kube::EndpointSlice>& slices,
              const ModelBuilder& builder, haproxy::Applier& applier, kube::EventSink& events, Clock& clock,
              SyncConfig config, std::function<void(int host_port)> on_port_unavailable);
  HaproxySync(const HaproxySync&) = delete;
  HaproxySync& operator=(const HaproxySync&) = delete;

  void notify();
  void run(std::stop_token stop);
  // One sync now; public so tests can drive it without threads. `stop` aborts a start or
  // reload being waited for. Returns what it did.
  enum class Outcome { kApplied, kDeferred, kFailed };
  Outcome sync(std::stop_token stop = {});

  SyncStats stats() const;
  // What the last sync left served (serving_status.h); an empty status before the first sync.
  std::shared_ptr<const ServingStatus> serving_status() const;

 private:
  void report(const std::map<std::string, std::vector<controller::Warning>>& warnings);
  // The serving status after a sync: the listeners on `changed` host ports (nullopt: all), the
  // pending ones and those with outcome Warnings are looked at again.
  void publish(const BuiltModel& built, const haproxy::ChangedPorts& changed);

  kube::Store<kube::Service>& services_;
  kube::Store<kube::EndpointSlice>& slices_;
  const ModelBuilder& builder_;
  haproxy::Applier& applier_;
  kube::EventSink& events_;
  Clock& clock_;
  const SyncConfig config_;
  std::function<void(int)> on_port_unavailable_;
  std::shared_ptr<spdlog::logger> log_;
  workqueue::RateLimitingQueue queue_;

  // Owned by the sync thread.
  std::optional<Clock::time_point> last_reload_;  // when the last successful reload began
  // The Applier's hint: the host ports whose listeners changed since the Model of the last
  // apply() call, gathered from each build's changed_ports (builds deferred in between count
  // too); std::nullopt (any may have) at first and after a build from scratch. The builder's
  // previous result is always this loop's previous build: nothing else builds with it.
  haproxy::ChangedPorts changed_since_apply_;
  std::map<std::string, std::set<controller::Warning>> reported_;  // Service key → Warnings raised
  // Warnings of the Driver's outcome (PortUnavailable, ConfigRejected), by host port; kept
  // until the port serves or belongs to another Service, since applies without a reload do
  // not repeat them.
  std::map<int, std::pair<std::string, controller::Warning>> apply_warnings_;

  std::set<int> warned_ports_;  // the ports apply_warnings_ held at the last publish

  std::atomic<std::uint64_t> syncs_{0}, failed_syncs_{0}, applied_syncs_{0}, listeners_{0};
  ServingStatusTracker status_;
};

}  // namespace berth::dataplane
