// The diff of what range mode runs (RangeState) and the desired Model: the Runtime API commands
// that get there with no reload, or the reasons a reload is needed and the state it renders.
//
// Per host port, in this order:
//   gone, or its options now belong to another BackendKind, or its servers outgrow its backend
//        → del map ports/services/maxconn (new connections are closed at once), its servers
//          `state maint` (their sessions stay), a restricted allow-list reset to every source,
//          and the backend drains until they end (the driver frees it: range_driver.h)
//   stays → servers through slot_commands (update_plan.h); maxconn `add/set/del map`; new
//           sources `add acl` before removed ones `del acl` (never a moment that allows none);
//           a renamed Service `set map services.map`
//   new   → the free backend of its kind with the fewest slots that hold its servers (lowest
//           name first): `clear acl` + `add acl` when it restricts sources (a free backend
//           allows every source already), servers set and made ready, maxconn and service
//           entries, and `add map ports.map` last, so traffic arrives only once the backend is
//           ready
// A kind with no free backend that fits → reload: the layout grows by RangePolicy::chunk
// backends of that kind and size, and the plan's `next` assigns the port there. A fresh layout
// (nothing running) also gets a chunk of the default options' kind, whatever the Model holds.
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "haproxy/model.h"
#include "haproxy/range/range_files.h"
#include "haproxy/range/range_state.h"

namespace berth::haproxy {

struct RangePlan {
  RangeState next;                           // what runs once the plan is carried out
  std::vector<std::string> reload_reasons;   // non-empty: a reload is needed
  std::vector<std::string> commands;         // when no reload: the commands, in order
  std::set<std::string> touched_backends;    // whose servers or ACL the commands change
  std::set<int> changed_ports;               // host ports whose route the plan adds, changes or removes

  bool needs_reload() const { return !reload_reasons.empty(); }
  bool empty() const { return reload_reasons.empty() && commands.empty(); }

  // `next` put back as the plan found it (the `current` it was given): a plan that is not
  // carried out gives the running state back without it ever having been copied. O(what the
  // plan changed).
  RangeState undone() &&;

  // What the plan changed in `next`, for undone().
  struct Undo {
    std::map<int, std::optional<Route>> routes;        // a changed port's route before the plan
    std::vector<std::string> drained;                   // backends the plan put into `draining`
    std::vector<std::string> added_backends;            // backends the plan added to the layout
    std::optional<std::set<std::string>> draining;      // `draining` before a reload's plan cleared it
  } undo;
};

// `current`: what runs (nullopt: nothing yet; a reload with a fresh layout), moved in: the plan
// changes it in place into `next` (a caller that keeps its state passes a copy). The plan never
// changes next.layout.binds: the driver decides what is bound.
// `only`: when given (and something runs), only these host ports are looked at; every other
// port's route is taken to be as `desired` wants it. The caller vouches for that (range_driver.h:
// the ports whose listeners changed since a plan that was carried out in full). A plan over a
// few ports then costs a few ports at 10,000 routes.
RangePlan plan_range_update(std::optional<RangeState> current, const Model& desired, const RangePolicy& policy,
                            const RangeFiles& files, const std::set<int>* only = nullptr);

}  // namespace berth::haproxy
