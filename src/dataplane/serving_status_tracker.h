// The ServingStatus (serving_status.h) the sync loop keeps up to date port by port, made into a
// snapshot only when a reader asks for one (`berth status`, a metrics scrape).
//
//   ServingStatusTracker tracker;
//   after each sync:  tracker.update(built, built.changed_ports, recheck, state_of);
//   any thread:       std::shared_ptr<const ServingStatus> now = tracker.snapshot();
//
// Why: a whole status at 10,000 ports (every port's Service, servers and state, sorted by
// Service) cost the sync loop 12-29 ms after every sync, more than the rest of a new port's path
// in range mode; a sync that changes a few ports now changes a few entries. A snapshot costs
// O(ports), once per change, on the reader's thread.
//
// update() makes anew the entries of: the listeners on `changed` host ports (std::nullopt: all);
// the listeners that were not serving at the last update (pending ones become serving); the
// listeners on `recheck` ports (the caller's, whose state may have changed otherwise: an
// outcome Warning raised or ended). The state of each is `state_of(host_port)`. Unserved ports
// are compared with the last update's and replaced when they differ (they are few).
//
// Thread-safety: update() from one thread (the sync loop); snapshot() from any.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dataplane/model_builder.h"
#include "dataplane/serving_status.h"

namespace berth::dataplane {

class ServingStatusTracker {
 public:
  // A listener's state and, unless serving, why.
  using StateOf = std::function<std::pair<ServedPort::State, std::string>(int host_port)>;

  void update(const BuiltModel& built, const std::optional<std::set<int>>& changed, const std::set<int>& recheck,
              const StateOf& state_of);
  // The status as of the last update(); an empty one before the first.
  std::shared_ptr<const ServingStatus> snapshot() const;

 private:
  using Key = std::tuple<std::string, int, int>;  // (service, service port, host port): the status's order
  static Key key_of(const ServedPort& port) { return {port.service, port.service_port, port.host_port}; }
  void put_listener(const BuiltModel& built, int host_port, const StateOf& state_of);

  // Owned by the updating thread.
  std::map<int, Key> listener_keys_;         // host port → its listener's entry
  std::set<int> not_serving_;                // listeners whose entry is not kServing
  std::vector<UnservedPort> unserved_;       // the last update's built.unserved

  mutable std::mutex mu_;
  std::map<Key, ServedPort> ports_;                      // guarded by mu_
  mutable std::shared_ptr<const ServingStatus> cached_;  // guarded by mu_; reset by every update
};

}  // namespace berth::dataplane
