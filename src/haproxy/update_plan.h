// The diff of the running Config and what should run next, in the shape of haproxy-ingress's
// dynupdate: either the exact Runtime API commands that get there with no reload, or the
// reasons why a reload is needed (logged with the reload, so an operator can tell why
// HAProxy was reloaded).
//
//   servers of a listener changed, and its slots suffice  → runtime commands
//   anything else (listener added or removed, its Service or options changed, global
//   settings changed, a backend out of slots, nothing running yet) → reload
//
// Runtime commands, per slot whose server changes (slot names: model.h):
//   gets a server:  set server p<port>/s<i> addr <ip> port <port>
//                   set server p<port>/s<i> state ready
//   loses it:       set server p<port>/s<i> state maint
// `state maint` stops new connections to the server and leaves its sessions alone, as a
// terminating pod's should be; a new server takes traffic at once, as Kubernetes' readiness
// says it may (its health check takes it out if it fails; measured: HAProxy 2.6 puts a slot
// leaving maintenance UP before its first check).
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "haproxy/model.h"
#include "haproxy/slot_table.h"

namespace berth::haproxy {

struct UpdatePlan {
  Config next;                                // what runs once the plan is carried out
  std::vector<std::string> reload_reasons;    // non-empty: a reload is needed
  std::vector<std::string> runtime_commands;  // when no reload: the commands, in order

  bool needs_reload() const { return !reload_reasons.empty(); }
  bool empty() const { return reload_reasons.empty() && runtime_commands.empty(); }
};

// `current`: the Config HAProxy runs (nullopt: none yet, which is itself a reason). Listeners
// keep their slots where they can; a reload lays out the backends that changed or ran out of
// slots afresh (policy) and keeps every other backend's slots as they are.
// The kind of a reload reason, for a metric label (the reasons name ports and Services, which
// a label must not): "initial", "global", "listener_added", "listener_removed",
// "service_moved", "options_changed", "slots_outgrown", "unconfirmed" (the Driver's own: a
// running config berth did not confirm), range mode's "backends_outgrown" and "port_not_bound"
// (range/range_plan.h), else "other".
std::string_view reload_reason_kind(std::string_view reason);
inline constexpr std::string_view kUnconfirmedConfigReason = "the running config is not one berth confirmed";

UpdatePlan plan_update(const std::optional<Config>& current, const GlobalSettings& global, const Model& desired,
                       const SlotPolicy& policy);

// The Runtime API commands that make `from`'s servers those of `to` for one backend; both
// have the same number of slots.
std::vector<std::string> slot_commands(int host_port, const Slots& from, const Slots& to);
// The same for a backend named `backend` (range mode's backends are not named after a port).
std::vector<std::string> slot_commands(std::string_view backend, const Slots& from, const Slots& to);

}  // namespace berth::haproxy
