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

  bool needs_reload() const { return !reload_reasons.empty(); }
  bool empty() const { return reload_reasons.empty() && commands.empty(); }
};

// `current`: what runs (nullopt: nothing yet; a reload with a fresh layout). The plan never
// changes next.layout.binds: the driver decides what is bound.
RangePlan plan_range_update(const std::optional<RangeState>& current, const Model& desired, const RangePolicy& policy,
                            const RangeFiles& files);

}  // namespace berth::haproxy
