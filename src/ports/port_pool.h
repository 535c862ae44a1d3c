// The host port pool: which port of `--port-range` minus `--exclude-ports` is allocated to
// which owner, which are in quarantine after a release, and which are unusable because a
// foreign process holds them. Modelled on Kubernetes' service/portallocator: a pure object with
// typed errors and a rebuild from observed state; it knows nothing of Services or annotations.
//
// Owners are opaque non-empty strings chosen by the caller, one port per owner (the controller
// uses "<namespace>/<name>/<service port>").
//
// Allocation order: allocate() hands out the next free port after the last one it handed out,
// wrapping at the end of the pool (next-fit), not the lowest free port. Two reasons: a port
// that just left quarantine is reused only after the cursor has gone round the whole pool, so
// stale clients of a deleted database are even less likely to reach a new tenant; and the
// sequence stays deterministic (tests, logs). rebuild() puts the cursor after the highest
// allocated port, so a restart continues where the allocations left off.
//
// Time: quarantine runs on the injected monotonic berth::Clock, so it is immune to wall clock
// steps and tests drive it with FakeClock. Only at the persistence boundary
// (export_quarantine / import_quarantine / rebuild) are release times std::chrono::system_clock
// time points, converted with a wall clock reading the caller passes in: a steady time point
// means nothing to another process or another node, a wall time does (to within clock skew).
// Release times (not expiry times) are persisted so that a changed --port-quarantine applies
// to ports already in quarantine. An imported release time in the future (skew, rounding) counts
// as "released now", so an import can never make a quarantine longer than one full period.
//
// Quarantine ends lazily: every member compares with clock.now(), no thread or timer is needed.
// next_quarantine_expiry() tells a caller when to retry an allocation that failed with
// kExhausted.
//
// Unusable is a mark on top of the state: an unusable port is never handed out, but keeps its
// quarantine, so clear_unusable() cannot shorten one.
//
// Errors are values (PortPoolError); nothing throws. Invariant violations (an empty owner)
// abort.
//
// Thread-safety: NOT thread-safe. The pool has one owner (the controller's worker thread); the
// Clock must outlive the pool.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <expected>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "ports/port_range_set.h"

namespace berth::ports {

enum class PortPoolErrorCode {
  kNotInPool,         // not in any --port-range (or not a port at all: 0, 70000)
  kExcluded,          // listed in --exclude-ports
  kQuarantined,       // released recently; free again at `until`
  kAlreadyAllocated,  // held by another owner (`holder`)
  kUnusable,          // a foreign process holds it
  kExhausted,         // allocate(): no free port left
  kOwnerHasPort,      // allocate_specific(): the owner already holds another port (`port`)
  kDuplicateOwner,    // rebuild(): the owner already claimed another port (`port`)
};

std::string_view to_string(PortPoolErrorCode code);

struct PortPoolError {
  PortPoolErrorCode code = PortPoolErrorCode::kNotInPool;
  Port port = 0;                                  // the port asked for; for kOwnerHasPort/kDuplicateOwner the one held
  std::string holder;                             // kAlreadyAllocated: who holds the port
  std::optional<Clock::time_point> until;         // kQuarantined: when the quarantine ends

  // One line for a log or an Event: "port 25003 is already allocated to default/db/3306".
  std::string describe() const;
  bool operator==(const PortPoolError&) const = default;
};

template <class T>
using PoolResult = std::expected<T, PortPoolError>;

// A quarantined port and when it was released, in wall time: what the controller persists
// (controller/quarantine_record.h uses the same std::map<int, system_clock::time_point> shape).
using QuarantineReleaseTimes = std::map<Port, std::chrono::system_clock::time_point>;

// An allocation observed in the cluster.
struct Claim {
  std::string owner;
  Port port = 0;  // as read: may be out of range, excluded, or claimed twice
  // Lexicographically smaller = older = wins a duplicate. The controller passes
  // "<creationTimestamp RFC 3339 UTC>/<uid>" so ties in time are broken by uid; equal keys fall
  // back to the owner string, so the outcome never depends on the input order.
  std::string claim_order;
  bool operator==(const Claim&) const = default;
};

struct RejectedClaim {
  Claim claim;
  PortPoolError reason;  // kNotInPool, kExcluded, kUnusable, kAlreadyAllocated{holder}, kDuplicateOwner
  bool operator==(const RejectedClaim&) const = default;
};

struct RebuildReport {
  std::vector<Claim> accepted;        // in claim order (oldest first)
  std::vector<RejectedClaim> rejected;  // in claim order: reallocate these and raise Events
  // Imported quarantine entries not applied: the port is outside the pool or a claim holds it
  // (the annotation wins; see rebuild()). Expired entries are dropped silently.
  QuarantineReleaseTimes dropped_quarantine;
};

struct PortPoolCounts {
  std::size_t size = 0;         // ports in the pool (ranges minus exclusions)
  std::size_t allocated = 0;
  std::size_t quarantined = 0;  // in quarantine and not unusable
  std::size_t unusable = 0;
  std::size_t free = 0;         // allocatable now; the four add up to size
  bool operator==(const PortPoolCounts&) const = default;
};

class PortPool {
 public:
  // The pool is `ranges` minus `excluded`. `quarantine` may be zero (released ports are free at
  // once).
  PortPool(PortRangeSet ranges, PortRangeSet excluded, Clock& clock, Clock::duration quarantine);

  PortPool(const PortPool&) = delete;
  PortPool& operator=(const PortPool&) = delete;

  // A port for `owner`: the one it holds already (idempotent), else the next free one (see the
  // allocation order above). kExhausted when nothing is free.
  PoolResult<Port> allocate(std::string_view owner);

  // Exactly `port` for `owner` (a pinned port, or keeping a port across a restart). Succeeds
  // when the owner holds it already. Errors: kNotInPool, kExcluded, kQuarantined{until},
  // kAlreadyAllocated{holder}, kUnusable, kOwnerHasPort{port held}.
  PoolResult<Port> allocate_specific(std::string_view owner, Port port);

  // Releases the owner's port into quarantine; returns it, or nullopt when the owner held none.
  std::optional<Port> release(std::string_view owner);
  // Releases `port` into quarantine; returns its former owner, or nullopt when it was not held.
  std::optional<std::string> release_port(Port port);
  // Frees the owner's port at once: for rolling back an allocation that never reached the
  // cluster (the write failed), so no client can know the port.
  std::optional<Port> release_without_quarantine(std::string_view owner);

  // A foreign process holds `port`: never hand it out until clear_unusable(). If an owner held
  // it, the allocation is released into quarantine and the owner returned: the caller must
  // allocate() it a new port. Errors: kNotInPool, kExcluded.
  PoolResult<std::optional<std::string>> mark_unusable(Port port);
  // Returns whether the port was marked.
  bool clear_unusable(Port port);

  // Why `port` could not be given to a new owner now (kNotInPool, kExcluded, kUnusable,
  // kQuarantined, kAlreadyAllocated), or nullopt when allocate_specific() would succeed.
  std::optional<PortPoolError> why_unavailable(Port port) const;

  std::optional<std::string> holder(Port port) const;
  std::optional<Port> port_of(std::string_view owner) const;
  bool is_quarantined(Port port) const;
  bool is_unusable(Port port) const;
  // When the earliest quarantine ends (the time to retry after kExhausted); nullopt if none.
  std::optional<Clock::time_point> next_quarantine_expiry() const;

  PortPoolCounts counts() const;
  std::size_t size() const { return pool_.size(); }
  const PortRangeSet& ranges() const { return pool_; }

  // The ports in quarantine (unusable ones included) with their release time, converted with
  // `wall_now`, the caller's std::chrono::system_clock::now().
  QuarantineReleaseTimes export_quarantine(std::chrono::system_clock::time_point wall_now) const;
  // Adds persisted quarantine entries. Entries for ports outside the pool or held by an owner
  // are not applied and are returned; expired ones are ignored. A port already in quarantine
  // keeps the later of the two release times.
  QuarantineReleaseTimes import_quarantine(const QuarantineReleaseTimes& entries,
                                           std::chrono::system_clock::time_point wall_now);

  // Replaces every allocation and quarantine with what was observed in the cluster (the NodePort
  // repair pattern); unusable marks are kept. Claims are taken oldest first; a claim loses when
  // its port is not in the pool, excluded, unusable, already taken by an older claim, or its
  // owner already claimed a port. Claims win over quarantine entries for the same port: an
  // annotation is the source of truth and a host port must never change across a restart; the
  // overridden entry is reported in dropped_quarantine.
  RebuildReport rebuild(std::vector<Claim> claims, const QuarantineReleaseTimes& quarantine,
                        std::chrono::system_clock::time_point wall_now);

 private:
  enum class State : std::uint8_t { kOutside, kExcluded, kFree, kAllocated, kQuarantined };

  // Checks that do not depend on who asks: pool membership, quarantine, unusable.
  std::optional<PortPoolError> unavailable(Port port) const;
  void expire_quarantine();
  void quarantine(Port port, Clock::time_point released);
  void set_free(Port port);
  void take(Port port, std::string owner);
  std::string drop_owner(Port port);
  void update_free_bit(Port port);
  std::optional<Port> next_free(Port from) const;
  Clock::time_point expiry(Clock::time_point released) const { return released + quarantine_; }
  bool live(Clock::time_point released) const { return expiry(released) > clock_->now(); }

  PortRangeSet pool_;
  PortRangeSet excluded_;
  Clock* clock_;
  Clock::duration quarantine_;

  std::vector<State> state_;             // indexed by port, 0..65535
  std::vector<bool> unusable_;           // indexed by port
  std::vector<std::uint64_t> free_bits_;  // bit p: state kFree and not unusable
  std::unordered_map<Port, std::string> holders_;
  std::map<std::string, Port, std::less<>> owners_;
  std::unordered_map<Port, Clock::time_point> released_at_;      // ports in state kQuarantined
  std::set<std::pair<Clock::time_point, Port>> by_release_;      // the same, oldest first
  std::size_t free_count_ = 0;
  std::size_t unusable_count_ = 0;
  Port cursor_ = 0;  // allocate() searches from here
};

}  // namespace berth::ports
