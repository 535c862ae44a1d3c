#include "haproxy/range/range_plan.h"

#include <algorithm>
#include <bitset>
#include <map>
#include <string_view>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

#include "haproxy/slot_table.h"
#include "haproxy/update_plan.h"

namespace berth::haproxy {
namespace {

// Free backends of each kind, ordered by (slots, name): the first that holds n servers is the
// smallest that fits. A kind is listed when a new port first asks for one of its backends: its
// backends are named "<kind id>_<n>" (backend_kind.h), one stretch of the layout's map, so the
// listing walks that stretch and the routes' names, not every backend with its kind's hash.
// Runs on every new port, at 10,000 routes and 11,264 backends.
class FreeBackends {
 public:
  // `state` is read as it is when a kind is first listed; the plan's own additions are taken
  // from here, so they are never handed out twice.
  explicit FreeBackends(const RangeState& state) : state_(state) {}

  std::optional<std::string> take(const BackendKind& kind, const std::string& id, std::size_t servers) {
    auto& free = listed(kind, id);
    auto fit = free.lower_bound({servers, std::string()});
    if (fit == free.end()) return std::nullopt;
    std::string name = fit->second;
    free.erase(fit);
    return name;
  }

 private:
  std::set<std::pair<std::size_t, std::string>>& listed(const BackendKind& kind, const std::string& id) {
    auto [at, fresh] = by_kind_.try_emplace(id);
    if (!fresh) return at->second;
    const std::string prefix = id + "_";
    std::unordered_set<std::string_view> used;
    for (const auto& [port, route] : state_.routes) {
      if (route.backend.starts_with(prefix)) used.insert(route.backend);
    }
    const auto& backends = state_.layout.backends;
    for (auto it = backends.lower_bound(prefix); it != backends.end() && it->first.starts_with(prefix); ++it) {
      const auto& [name, backend] = *it;
      if (backend.kind != kind || used.contains(name) || state_.draining.contains(name)) continue;
      at->second.insert({backend.servers, name});
    }
    return at->second;
  }

  const RangeState& state_;
  std::map<std::string, std::set<std::pair<std::size_t, std::string>>> by_kind_;
};

// Whether `route` already routes as `listener` says (its backend's kind aside): planning it
// would change nothing. The slots hold exactly the listener's servers, each once, in any order
// (listener.servers is sorted and unique).
bool routes_as(const Route& route, const Listener& listener) {
  if (route.maxconn != listener.options.maxconn || route.allow_sources != listener.options.allow_sources ||
      route.service != listener.service) {
    return false;
  }
  const auto& servers = listener.servers;
  std::bitset<64> seen;  // more servers than that: the full path below decides
  if (servers.size() > seen.size()) return false;
  std::size_t held = 0;
  for (const auto& slot : route.slots) {
    if (!slot) continue;
    auto at = std::lower_bound(servers.begin(), servers.end(), *slot);
    if (at == servers.end() || *at != *slot) return false;
    const auto index = static_cast<std::size_t>(at - servers.begin());
    if (seen[index]) return false;
    seen[index] = true;
    ++held;
  }
  return held == servers.size();
}

std::string describe(int port, const Listener& listener) {
  return fmt::format("{} ({}/{}:{})", port, listener.service.ns, listener.service.name, listener.service.port);
}

Slots fill(const std::vector<Server>& servers, std::size_t slots) {
  Slots filled(slots);
  std::copy(servers.begin(), servers.end(), filled.begin());
  return filled;
}

struct Planner {
  const RangeFiles& files;
  RangePlan& plan;

  RangeState& next() { return plan.next; }
  void command(std::string text) { plan.commands.push_back(std::move(text)); }

  // Called before the plan changes `port`'s route, so that undone() can put it back.
  void remember(int port) {
    plan.changed_ports.insert(port);
    if (plan.undo.routes.contains(port)) return;
    auto route = next().routes.find(port);
    plan.undo.routes.emplace(port, route == next().routes.end() ? std::nullopt : std::optional<Route>(route->second));
  }

  void reset_acl(const std::string& backend, const std::vector<Cidr>& allow_sources) {
    const auto acl = files.acl_file(backend).string();
    command(fmt::format("clear acl {}", acl));
    for (const auto& pattern : acl_patterns(allow_sources)) command(fmt::format("add acl {} {}", acl, pattern));
  }

  void remove_route(int port) {
    remember(port);
    const Route route = std::move(next().routes.at(port));
    next().routes.erase(port);
    command(fmt::format("del map {} {}", files.ports_map.string(), port));
    command(fmt::format("del map {} {}", files.services_map.string(), port));
    if (route.maxconn > 0) command(fmt::format("del map {} {}", files.maxconn_map.string(), port));
    const Slots none(route.slots.size());
    for (auto& text : slot_commands(route.backend, route.slots, none)) command(std::move(text));
    // A backend that is not routed allows every source, at run time as in its file, so that a
    // new unrestricted port needs no ACL command (each walks HAProxy's list of every pattern
    // file: ~1 ms at 10,000 backends). Its port is unmapped already: no new client reaches it.
    if (!route.allow_sources.empty()) reset_acl(route.backend, {});
    if (next().draining.insert(route.backend).second) plan.undo.drained.push_back(route.backend);
    plan.touched_backends.insert(route.backend);
  }

  void update_route(int port, Route& route, const Listener& listener, Slots slots) {
    remember(port);
    auto slot_changes = slot_commands(route.backend, route.slots, slots);
    if (!slot_changes.empty()) plan.touched_backends.insert(route.backend);
    for (auto& text : slot_changes) command(std::move(text));
    route.slots = std::move(slots);
    const int maxconn = listener.options.maxconn;
    if (maxconn != route.maxconn) {
      if (maxconn > 0 && route.maxconn > 0) {
        command(fmt::format("set map {} {} {}", files.maxconn_map.string(), port, maxconn));
      } else if (maxconn > 0) {
        command(fmt::format("add map {} {} {}", files.maxconn_map.string(), port, maxconn));
      } else {
        command(fmt::format("del map {} {}", files.maxconn_map.string(), port));
      }
      route.maxconn = maxconn;
    }
    const auto& allow = listener.options.allow_sources;
    if (allow != route.allow_sources) {
      // The new list is added before the old one is taken away: for a moment both are allowed,
      // never neither. An empty list means every source (acl_text()).
      const auto listed = [](const std::vector<Cidr>& cidrs) {
        const auto patterns = acl_patterns(cidrs);
        return std::set<std::string>(patterns.begin(), patterns.end());
      };
      const auto before = listed(route.allow_sources);
      const auto after = listed(allow);
      const auto file = files.acl_file(route.backend).string();
      for (const auto& p : after) {
        if (!before.contains(p)) command(fmt::format("add acl {} {}", file, p));
      }
      for (const auto& p : before) {
        if (!after.contains(p)) command(fmt::format("del acl {} {}", file, p));
      }
      route.allow_sources = allow;
      plan.touched_backends.insert(route.backend);
    }
    if (listener.service != route.service) {
      command(fmt::format("set map {} {} {}", files.services_map.string(), port, service_label(listener.service)));
      route.service = listener.service;
    }
  }

  void add_route(int port, const Listener& listener, const std::string& backend) {
    const std::size_t slots = next().layout.backends.at(backend).servers;
    Route route{.backend = backend,
                .service = listener.service,
                .slots = fill(listener.servers, slots),
                .maxconn = listener.options.maxconn,
                .allow_sources = listener.options.allow_sources};
    if (!route.allow_sources.empty()) reset_acl(backend, route.allow_sources);
    for (auto& text : slot_commands(backend, Slots(slots), route.slots)) command(std::move(text));
    if (route.maxconn > 0) command(fmt::format("add map {} {} {}", files.maxconn_map.string(), port, route.maxconn));
    command(fmt::format("add map {} {} {}", files.services_map.string(), port, service_label(route.service)));
    command(fmt::format("add map {} {} {}", files.ports_map.string(), port, backend));
    plan.touched_backends.insert(backend);
    remember(port);
    next().routes[port] = std::move(route);
  }
};

}  // namespace

RangeState RangePlan::undone() && {
  if (undo.draining) next.draining = std::move(*undo.draining);
  for (const std::string& backend : undo.drained) next.draining.erase(backend);
  for (const std::string& backend : undo.added_backends) next.layout.backends.erase(backend);
  for (auto& [port, route] : undo.routes) {
    if (route) {
      next.routes.insert_or_assign(port, std::move(*route));
    } else {
      next.routes.erase(port);
    }
  }
  return std::move(next);
}

RangePlan plan_range_update(std::optional<RangeState> current, const Model& desired, const RangePolicy& policy,
                            const RangeFiles& files, const std::set<int>* only) {
  RangePlan plan;
  const bool running = current.has_value();
  if (running) plan.next = std::move(*current);
  if (!running) plan.reload_reasons.push_back("no config is running yet");
  if (!running) only = nullptr;
  Planner planner{files, plan};
  auto& next = plan.next;

  // Routes that go, move or change.
  std::vector<int> ports;
  if (only) {
    for (int port : *only) {
      if (next.routes.contains(port)) ports.push_back(port);
    }
  } else {
    for (const auto& [port, route] : next.routes) ports.push_back(port);
  }
  for (int port : ports) {
    auto wanted = desired.listeners.find(port);
    Route& route = next.routes.at(port);
    // Most routes are as wanted: tell so without working out their slots (10,000 a plan).
    if (wanted != desired.listeners.end() && routes_as(route, wanted->second) &&
        kind_of(wanted->second.options) == next.layout.backends.at(route.backend).kind) {
      continue;
    }
    std::optional<Slots> slots;
    if (wanted != desired.listeners.end() &&
        kind_of(wanted->second.options) == next.layout.backends.at(route.backend).kind) {
      slots = reassign_slots(route.slots, wanted->second.servers);
    }
    if (slots) {
      planner.update_route(port, route, wanted->second, std::move(*slots));
    } else {
      planner.remove_route(port);
    }
  }

  // New routes, into free backends, else into backends a reload adds.
  // Made at the first new port: most plans (a resync, an endpoint change) add none.
  std::optional<FreeBackends> free;
  struct Shortage {
    std::size_t backends = 0;
    BackendKind kind;
    std::vector<int> ports;
  };
  std::map<std::pair<std::string, std::size_t>, Shortage> shortages;  // by (kind id, slots)
  // The desired listeners the plan looks at: every one, or those of `only`.
  std::vector<const std::pair<const int, Listener>*> looked_at;
  if (only) {
    for (int port : *only) {
      if (auto wanted = desired.listeners.find(port); wanted != desired.listeners.end()) looked_at.push_back(&*wanted);
    }
  } else {
    looked_at.reserve(desired.listeners.size());
    for (const auto& entry : desired.listeners) looked_at.push_back(&entry);
  }
  for (const auto* entry : looked_at) {
    const auto& [port, listener] = *entry;
    if (next.routes.contains(port)) continue;
    const BackendKind kind = kind_of(listener.options);
    const std::string id = kind_id(kind);
    if (!free) free.emplace(next);
    if (auto backend = free->take(kind, id, listener.servers.size())) {
      planner.add_route(port, listener, *backend);
      continue;
    }
    auto& shortage = shortages[{id, policy.servers_for(listener.servers.size())}];
    shortage.kind = kind;
    shortage.ports.push_back(port);
    if (running) {
      plan.reload_reasons.push_back(fmt::format("host port {}: kind {} has no free backend with {} server slots",
                                                describe(port, listener), id, listener.servers.size()));
    }
  }
  // A fresh layout starts with a chunk of backends of the default options, which most Services
  // use: the first Services after a start need no reload either.
  if (!running) {
    const BackendKind kind = kind_of(BackendOptions{});
    auto& shortage = shortages[{kind_id(kind), policy.servers_for(0)}];
    shortage.kind = kind;
  }
  if (shortages.empty()) {
    if (plan.needs_reload()) plan.commands.clear();
    return plan;
  }

  // Grow each short kind by whole chunks of backends of the size its ports need.
  std::map<std::string, int> last_index;
  for (const auto& [name, backend] : next.layout.backends) {
    if (auto parsed = parse_range_backend_name(name)) {
      last_index[parsed->kind_id] = std::max(last_index[parsed->kind_id], parsed->index);
    }
  }
  const std::size_t chunk = std::max<std::size_t>(1, policy.chunk);
  for (auto& [key, shortage] : shortages) {
    const auto& [id, slots] = key;
    const std::size_t count = std::max<std::size_t>(1, (shortage.ports.size() + chunk - 1) / chunk) * chunk;
    for (std::size_t i = 0; i < count; ++i) {
      std::string name = range_backend_name(id, ++last_index[id]);
      next.layout.backends[name] = RangeBackend{shortage.kind, slots};
      plan.undo.added_backends.push_back(std::move(name));
    }
  }
  FreeBackends grown(next);
  for (const auto& [key, shortage] : shortages) {
    for (int port : shortage.ports) {
      const Listener& listener = desired.listeners.at(port);
      auto backend = grown.take(shortage.kind, key.first, listener.servers.size());
      planner.add_route(port, listener, *backend);  // the chunk holds every short port
    }
  }
  // A reload renders every route into the new config: the commands are not sent, and the new
  // worker has no sessions in the draining backends (the old worker keeps its own).
  plan.commands.clear();
  plan.undo.draining = std::move(next.draining);
  next.draining.clear();
  return plan;
}

}  // namespace berth::haproxy
