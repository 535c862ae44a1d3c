// Which server slot of a backend holds which server. Every backend is rendered with spare,
// disabled slots so that pods coming and going change servers through the Runtime API
// (`set server p<port>/s<i> addr ... port ...`) instead of a reload; only when a backend runs
// out of slots does it need a reload, and then it grows with headroom.
//
// A server keeps its slot for as long as it is wanted, so a runtime update never touches a
// slot whose server stays (its sessions and health state are left alone). New servers take
// free slots, preferring ones that were not freed by the same update (a slot freed now may
// still carry sessions to its old server).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "haproxy/model.h"

namespace berth::haproxy {

struct SlotPolicy {
  std::size_t min_slots = 2;  // every backend has at least this many slots
  // A backend (re)laid out for n servers gets max(min_slots, n * growth_factor) slots.
  std::size_t growth_factor = 2;

  std::size_t slots_for(std::size_t servers) const;
};

// `servers` (sorted, unique) in the first slots of a new backend, padded with empty ones to
// policy.slots_for(servers.size()).
Slots fresh_slots(const std::vector<Server>& servers, const SlotPolicy& policy);

// `current` changed to hold exactly `servers`: servers that stay keep their slot, removed
// ones leave theirs empty, new ones take empty slots (never-freed ones first, lowest index
// first). nullopt when there are more servers than slots: the backend needs a reload.
std::optional<Slots> reassign_slots(const Slots& current, const std::vector<Server>& servers);

// The servers held by `slots`, sorted.
std::vector<Server> servers_in(const Slots& slots);

}  // namespace berth::haproxy
