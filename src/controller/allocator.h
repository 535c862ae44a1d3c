// The decisions of the port allocation controller, with no I/O: which host port each TCP port
// of each marked Service holds, what a Service's allocation annotations must become, and which
// Warnings describe it. ServiceController (service_controller.h) does the reading, writing and
// Events around it.
//
// State: the PortPool plus, per Service key, the uid of the incarnation that holds ports and
// its service port → host port map (the pool's owner for one port is "<namespace>/<name>/<port>").
// Everything here is rebuilt from the cluster at the start of each term (rebuild()); nothing is
// kept on local disk.
//
// A sync of one Service is plan() → write the plan's annotation changes → commit() on success
// or rollback() on failure:
//   - plan() reserves new host ports at once (so two Services synced in parallel never get the
//     same one) but releases nothing that the Service's annotations still name: a held port
//     leaves the pool only in commit(), after the annotation removal was written, and goes into
//     quarantine. `to_release` lists those ports so the caller can persist their quarantine
//     BEFORE writing (a crash between the two must not lose the quarantine).
//   - rollback() frees the reservations without quarantine: they never reached the cluster.
//   - Ports released without any write of ours (the Service was deleted, replaced by a new
//     incarnation, or a user moved a pinned port) are released at once by release_deleted(),
//     release_replaced() and plan() (`released_now`); the caller confirms with a fresh GET that
//     such a decision is not based on a stale cache (needs_confirmation()).
//
// Annotation rules (per TCP port of a marked Service; see docs/allocation.md):
//   held == annotation          → kept.
//   annotation, nothing held    → the pinned value is taken when the pool can give it; held by
//                                 another Service → PortConflict (the holder keeps it, both are
//                                 told) and a fresh port; not in the pool, excluded, quarantined
//                                 or unusable → InvalidAnnotation and a fresh port.
//   annotation != held          → a user moved the port: taken when free (the old one goes into
//                                 quarantine), else the held port is written back with a Warning.
//   not a host port ("abc")     → InvalidAnnotation; the held port (or a fresh one) is written.
//   no annotation               → the held port is written back, or a fresh port allocated.
// Fresh ports: PoolExhausted or PortLimitReached (--max-ports-per-namespace) when none can be
// given; the Service is then `waiting` and retried when ports are released or leave quarantine.
// Unmarked Services hold nothing and keep no allocation annotation.
//
// Thread-safety: NOT thread-safe; ServiceController guards it with one mutex.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/clock.h"
#include "controller/allocator_config.h"
#include "controller/quarantine_record.h"
#include "kube/annotation_patch.h"
#include "kube/service.h"
#include "ports/port_pool.h"

namespace berth::controller {

struct Warning {
  std::string reason;   // PortConflict, InvalidAnnotation, PoolExhausted, PortLimitReached, UnsupportedProtocol, PortUnusable
  std::string message;  // stable for an unchanged state, so a repeated sync repeats no Event
  auto operator<=>(const Warning&) const = default;
};

// A host port of one service port, allocated or released.
struct PortAssignment {
  int service_port = 0;
  int host_port = 0;
  bool pinned = false;  // the value came from the user's annotation
  bool operator==(const PortAssignment&) const = default;
};

// A PortConflict to tell the Service that keeps the port.
struct HolderNotice {
  std::string holder_key;  // "namespace/name"
  std::string message;
  Warning claimant_warning;  // sent only when this Warning of the claimant is new
  bool operator==(const HolderNotice&) const = default;
};

struct Plan {
  std::map<int, int> desired;          // service port → host port once the write is done
  kube::AnnotationChanges changes;     // the write; empty when the annotations are right already
  std::vector<PortAssignment> reserved;      // new reservations (PortAllocated after the write)
  std::vector<PortAssignment> to_release;    // released by commit() (PortReleased after the write)
  std::vector<PortAssignment> released_now;  // released by plan() itself (a user's move)
  std::vector<Warning> warnings;       // every Warning that describes the Service now
  std::vector<HolderNotice> holder_notices;
  bool waiting = false;                // some TCP port got no host port; retry when ports free up
};

struct RebuildSummary {
  std::size_t services = 0;        // marked Services seen
  std::size_t kept = 0;            // allocations taken over unchanged
  std::size_t rejected = 0;        // annotations that lost (conflict, invalid): reallocated by their sync
  std::size_t quarantined = 0;     // ports in quarantine after the rebuild
  std::vector<std::string> problems;  // one line each, for the log
};

class Allocator {
 public:
  Allocator(const AllocatorConfig& config, Clock& clock);

  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // Replaces all state with what the cluster says (Kubernetes' NodePort repair pattern): the
  // valid allocation annotations of marked Services are claims (older creationTimestamp, then
  // uid, wins a duplicate); `persisted` is the quarantine kept on the Lease; host ports still
  // named by annotations that no longer count (unmarked Services, ports removed from the spec
  // while no allocator ran) go into quarantine from `wall_now`, since clients may still know
  // them. Unusable marks survive.
  RebuildSummary rebuild(const std::vector<kube::Service>& services, const QuarantinedPorts& persisted,
                         std::chrono::system_clock::time_point wall_now);

  // Whether planning `service` (nullptr: not in the cache) would release a held port without
  // a write of ours, so the caller must first confirm the Service with a fresh GET.
  bool needs_confirmation(const std::string& key, const kube::Service* service) const;

  // The Service is gone: every host port it held goes into quarantine.
  std::vector<PortAssignment> release_deleted(const std::string& key);
  // The Service under `key` is a new incarnation (another uid): the old one's ports go into
  // quarantine. Empty when the uid is the one that holds the ports.
  std::vector<PortAssignment> release_replaced(const kube::Service& service);

  Plan plan(const kube::Service& service);
  void commit(const std::string& key, const Plan& plan);
  void rollback(const std::string& key, const Plan& plan);

  // The Warnings of `plan` that were not already reported for this Service, and remembers the
  // plan's set as the reported one (a Warning that goes away and comes back is reported again).
  std::vector<Warning> new_warnings(const std::string& key, const std::vector<Warning>& now);
  void forget_warnings(const std::string& key);

  // A foreign process holds `port`: its Service (if any) must move. Returns that Service's key.
  Result<std::optional<std::string>> mark_unusable(int port);

  // The quarantine to persist: the pool's, plus the ports of plans between plan() and commit().
  QuarantinedPorts quarantine_to_persist(std::chrono::system_clock::time_point wall_now) const;

  // host ports held by `key`, service port → host port (empty when none).
  std::map<int, int> held(const std::string& key) const;
  std::size_t namespace_port_count(const std::string& ns) const;
  const ports::PortPool& pool() const { return pool_; }

 private:
  struct ServiceRecord {
    std::string uid;
    std::map<int, int> ports;  // service port → host port
  };

  bool is_marked_here(const kube::Service& service) const;
  // A fresh host port for one service port, or nullopt with a Warning and plan.waiting set.
  std::optional<int> take_fresh(const kube::Service& service, int service_port, Plan& plan);
  void hold(const std::string& key, const std::string& uid, int service_port, int host_port);
  void unhold(const std::string& key, int service_port);
  std::vector<PortAssignment> release_all(const std::string& key);

  const AllocatorConfig config_;
  Clock& clock_;
  ports::PortPool pool_;
  std::map<std::string, ServiceRecord> records_;
  std::map<std::string, std::size_t> namespace_ports_;
  std::map<int, Clock::time_point> pending_release_;  // host port → when plan() decided to release it
  std::map<std::string, std::set<Warning>> reported_;
};

// The pool owner of one service port: "<namespace>/<name>/<port>".
std::string port_owner(const std::string& service_key, int service_port);
// The Service key of an owner: "<namespace>/<name>".
std::string service_key_of_owner(const std::string& owner);

}  // namespace berth::controller
