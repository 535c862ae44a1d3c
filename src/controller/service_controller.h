// The port allocation controller: keeps every marked Service's allocation annotations right,
// in the shape of Kubernetes' sample-controller (enqueue → run → worker → sync one key).
//
//   ServiceController controller(api, services, events, clock, config);
//   Reflector<Service> reflector(..., [&](const std::string& key) { controller.enqueue(key); });
//   // once the Service cache has synced, for as long as this instance is the allocator:
//   controller.run(stop);
//
// A term (one run() call; with leader election, one leadership term):
//   1. rebuild(): a fresh paged LIST of the Services (a quorum read, so a new leader sees every
//      write of the previous one even if its own cache lags) plus the quarantine record on the
//      Lease → Allocator::rebuild(). Nothing is allocated before this has succeeded; it is
//      retried with backoff until it does.
//   2. Every listed and cached key is queued, and `workers` threads sync keys until stopped.
// Between terms enqueue() drops keys: the next rebuild queues everything anyway.
//
// sync(key) (see allocator.h for the rules):
//   - reads the Service from the cache; when the decision would release a held port without a
//     write of ours (deleted, new uid, a user's move), it first confirms with a GET, so a stale
//     cache never frees a port that is still in use;
//   - persists the quarantine (quarantine_store.h) BEFORE any write that removes a host port
//     from a Service, and after ports of deleted Services were released;
//   - writes the annotation changes as one JSON merge patch carrying the resourceVersion it
//     read: a 409 rolls the plan back and requeues the key (rate limited) to be re-read, never
//     overwritten; the answer is put into the cache (Store::update_if_unchanged) so the next
//     sync of the key sees the write even before the watch delivers it;
//   - raises Events: Normal PortAllocated / PortReleased for what the write did, Warnings only
//     when the Service's set of Warnings gained one (no repeated Event for an unchanged state),
//     PortConflict also on the Service that keeps the port;
//   - a Service waiting for a port (PoolExhausted, PortLimitReached) is queued again when a port
//     is released and when the next quarantine ends.
// A failed sync is requeued with per-key exponential backoff (5 ms … 1000 s); a successful one
// resets it.
//
// Thread-safety: enqueue(), mark_port_unusable(), stats() and the accessors may be called from
// any thread; run() once at a time. The ApiClient, Store, EventSink and Clock must outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <vector>

#include "common/clock.h"
#include "controller/allocator.h"
#include "controller/allocator_config.h"
#include "controller/quarantine_store.h"
#include "kube/api_client.h"
#include "kube/event_sink.h"
#include "kube/service.h"
#include "kube/store.h"
#include "workqueue/rate_limiting_queue.h"

namespace spdlog {
class logger;
}

namespace berth::controller {

struct ServiceControllerStats {
  std::uint64_t rebuilds = 0;
  std::uint64_t syncs = 0;
  std::uint64_t failed_syncs = 0;
  std::uint64_t conflicts = 0;  // writes refused with 409
  std::uint64_t writes = 0;     // annotation patches that succeeded
};

class ServiceController {
 public:
  ServiceController(kube::ApiClient& api, kube::Store<kube::Service>& services, kube::EventSink& events, Clock& clock,
                    AllocatorConfig config);
  ServiceController(const ServiceController&) = delete;
  ServiceController& operator=(const ServiceController&) = delete;

  // Queues a Service key for a sync; a no-op between terms. Quick: meant for reflector handlers.
  void enqueue(const std::string& key);

  // One term (see above); returns when `stop` is requested, after the workers have finished.
  void run(std::stop_token stop);

  // Step 1 of a term; public so tests can drive the controller without threads.
  Result<RebuildSummary> rebuild();
  // One sync; public for the same reason. An error means: retry later.
  Result<void> sync(const std::string& key);

  // A foreign process holds `port` (the HAProxy driver found it busy): it is never handed out
  // again until restart, and the Service holding it is synced to a new port. kInvalidArgument
  // when the port is not in the pool.
  Result<void> mark_port_unusable(int port);

  // Called on the worker's thread after each sync of a key, with how long it took (the metric
  // berth_allocator_sync_duration_seconds). Set it before run().
  void set_sync_observer(std::function<void(Clock::duration)> observer) { sync_observer_ = std::move(observer); }

  // Called on the worker's thread with a Service's key after the controller stored its own
  // write (the server's answer) in the Store. The watch event for that write then changes
  // nothing and calls no Reflector handler, so whoever else reads the Store (the data plane)
  // learns of the new host port only from this. Set it before run().
  void set_store_observer(std::function<void(const std::string&)> observer) { store_observer_ = std::move(observer); }

  // Whether the current term's rebuild has finished (false between terms).
  bool rebuilt() const { return rebuilt_.load(); }
  ServiceControllerStats stats() const;
  std::map<int, int> held(const std::string& key) const;
  ports::PortPoolCounts pool_counts() const;

 private:
  Result<RebuildSummary> rebuild(std::vector<std::string>& keys);
  Result<void> persist_quarantine();
  void wake_waiting_locked(std::vector<std::string>& keys);
  void enqueue_all(const std::vector<std::string>& keys);
  void enqueue_after(const std::string& key, Clock::duration delay);
  void process(workqueue::RateLimitingQueue& queue, const std::string& key);

  kube::ApiClient& api_;
  kube::Store<kube::Service>& services_;
  kube::EventSink& events_;
  Clock& clock_;
  const AllocatorConfig config_;
  std::shared_ptr<spdlog::logger> log_;
  QuarantineStore quarantine_store_;
  std::function<void(Clock::duration)> sync_observer_;  // set before run(), then only read
  std::function<void(const std::string&)> store_observer_;  // set before run(), then only read

  mutable std::mutex mu_;
  Allocator allocator_;            // guarded by mu_
  std::set<std::string> waiting_;  // guarded by mu_: keys with a port that got no host port
  bool quarantine_unsaved_ = false;  // guarded by mu_: released ports the record may lack

  // Lock order: persist_mu_ before mu_.
  std::mutex persist_mu_;
  std::atomic<std::uint64_t> persist_requested_{0};
  std::uint64_t persist_covered_ = 0;  // guarded by persist_mu_: requests a successful save included

  mutable std::mutex queue_mu_;
  std::shared_ptr<workqueue::RateLimitingQueue> queue_;  // guarded by queue_mu_; null between terms

  std::atomic<bool> rebuilt_{false};
  std::atomic<std::uint64_t> rebuilds_{0}, syncs_{0}, failed_syncs_{0}, conflicts_{0}, writes_{0};
};

}  // namespace berth::controller
