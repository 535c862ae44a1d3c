// Leader election over a coordination.k8s.io/v1 Lease, as client-go's leaderelection package
// does it, so that exactly one berth replica allocates ports while the others keep warm caches.
//
//   LeaderElector elector(api, clock, config, {.on_started_leading = [&](std::stop_token term) {
//     allocator.run(term);   // returns when `term` is stopped
//   }});
//   elector.run(stop);       // until `stop`
//
// The protocol (tryAcquireOrRenew):
//   - read the Lease; create it when missing (holder = us);
//   - a Lease held by another identity is taken only when THIS process has seen no change in
//     its record for leaseDurationSeconds, measured on our own monotonic clock — never by
//     comparing the other node's renewTime with our clock (clocks of two nodes differ);
//   - taking it sets acquireTime and increments leaseTransitions; renewing keeps acquireTime;
//   - every write is an update carrying the resourceVersion that was read, so of two candidates
//     that read the same record only one wins (the other gets kConflict and tries again later).
// A candidate retries every retry_period (jittered ×[1, 1.2)). The leader renews every
// retry_period; when no renewal has succeeded for renew_deadline it steps down. The term's
// stop token is then stopped and on_started_leading must return before the elector tries to
// acquire again, so two terms of one process never overlap. renew_deadline < lease_duration
// leaves the old leader time to stop writing before anyone else may take over.
// On `stop` while leading, with release_on_cancel, the Lease is given up (holderIdentity "",
// leaseDurationSeconds 1), so a standby takes over within one retry period instead of waiting
// out the lease.
//
// Thread-safety: run() once, on one thread; is_leader() and observed_leader() from any thread.
// The ApiClient and Clock must outlive the elector.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>

#include "common/clock.h"
#include "common/error.h"
#include "kube/api_client.h"
#include "kube/lease.h"

namespace spdlog {
class logger;
}

namespace berth::leader {

struct LeaderElectionConfig {
  std::string lease_namespace = "default";  // --leader-election-namespace
  std::string lease_name = "berth";         // --leader-election-id
  std::string identity;                     // unique per process; default_identity()
  Clock::duration lease_duration = std::chrono::seconds(15);  // --leader-elect-lease-duration
  Clock::duration renew_deadline = std::chrono::seconds(10);  // --leader-elect-renew-deadline
  Clock::duration retry_period = std::chrono::seconds(2);     // --leader-elect-retry-period
  bool release_on_cancel = true;
};

// client-go's rules: lease_duration > renew_deadline > 1.2 × retry_period > 0, valid names,
// a non-empty identity. kInvalidArgument naming the flag.
Result<void> validate(const LeaderElectionConfig& config);

// "<hostname>_<16 random hex digits>": unique even for two replicas on one host.
std::string default_identity();

struct LeaderCallbacks {
  // Runs on its own thread for the whole term; `term` is stopped when leadership ends.
  std::function<void(std::stop_token term)> on_started_leading;
  // After a term has ended and on_started_leading has returned (optional).
  std::function<void()> on_stopped_leading;
  // The observed holder changed (optional); "" when nobody holds the Lease.
  std::function<void(const std::string& identity)> on_new_leader;
};

class LeaderElector {
 public:
  LeaderElector(kube::ApiClient& api, Clock& clock, LeaderElectionConfig config, LeaderCallbacks callbacks);
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  void run(std::stop_token stop);

  bool is_leader() const { return leading_.load(); }
  std::string observed_leader() const;

 private:
  // One round of the protocol; true when we hold the Lease afterwards.
  bool try_acquire_or_renew();
  // Leads until the Lease is lost or `stop`; returns after the term's callback has returned.
  void lead(std::stop_token stop);
  void release();
  void observe(const kube::Lease& lease);
  Clock::duration jittered_retry();

  kube::ApiClient& api_;
  Clock& clock_;
  const LeaderElectionConfig config_;
  const LeaderCallbacks callbacks_;
  std::shared_ptr<spdlog::logger> log_;
  std::mt19937_64 rng_;  // owned by the run() thread

  // Owned by the run() thread: the last record read or written, and when it last changed.
  std::optional<kube::Lease> observed_;
  Clock::time_point observed_at_{};

  std::atomic<bool> leading_{false};
  mutable std::mutex mu_;
  std::string observed_leader_;  // guarded by mu_
};

}  // namespace berth::leader
