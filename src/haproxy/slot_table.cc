#include "haproxy/slot_table.h"

#include <algorithm>
#include <set>

namespace berth::haproxy {

std::size_t SlotPolicy::slots_for(std::size_t servers) const {
  return std::max(min_slots, servers * std::max<std::size_t>(growth_factor, 1));
}

Slots fresh_slots(const std::vector<Server>& servers, const SlotPolicy& policy) {
  Slots slots(servers.begin(), servers.end());
  slots.resize(std::max(slots.size(), policy.slots_for(servers.size())));
  return slots;
}

std::optional<Slots> reassign_slots(const Slots& current, const std::vector<Server>& servers) {
  if (servers.size() > current.size()) return std::nullopt;
  const std::set<Server> wanted(servers.begin(), servers.end());
  Slots next = current;
  std::set<Server> placed;
  std::vector<std::size_t> never_freed, freed_now;
  for (std::size_t i = 0; i < next.size(); ++i) {
    if (!next[i]) {
      never_freed.push_back(i);
    } else if (wanted.contains(*next[i]) && !placed.contains(*next[i])) {
      placed.insert(*next[i]);
    } else {  // not wanted any more, or a second copy of a server
      next[i].reset();
      freed_now.push_back(i);
    }
  }
  std::vector<std::size_t> free_slots = std::move(never_freed);
  free_slots.insert(free_slots.end(), freed_now.begin(), freed_now.end());
  std::size_t next_free = 0;
  for (const Server& server : servers) {
    if (placed.contains(server)) continue;
    // Enough free slots exist: every slot is either placed (a wanted server) or free.
    next[free_slots[next_free++]] = server;
  }
  return next;
}

std::vector<Server> servers_in(const Slots& slots) {
  std::vector<Server> out;
  for (const auto& slot : slots) {
    if (slot) out.push_back(*slot);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace berth::haproxy
