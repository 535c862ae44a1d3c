#include "haproxy/update_plan.h"

#include <fmt/format.h>

namespace berth::haproxy {
namespace {

std::string describe(const Listener& l) {
  return fmt::format("{} ({}/{}:{})", proxy_name(l.host_port), l.service.ns, l.service.name, l.service.port);
}

}  // namespace

std::vector<std::string> slot_commands(int host_port, const Slots& from, const Slots& to) {
  return slot_commands(proxy_name(host_port), from, to);
}

std::vector<std::string> slot_commands(std::string_view backend_name, const Slots& from, const Slots& to) {
  std::vector<std::string> commands;
  const std::string backend(backend_name);
  for (std::size_t i = 0; i < to.size() && i < from.size(); ++i) {
    if (from[i] == to[i]) continue;
    const std::string server = backend + "/" + slot_name(i);
    if (to[i]) {
      commands.push_back(fmt::format("set server {} addr {} port {}", server, to[i]->address.text(), to[i]->port));
      commands.push_back(fmt::format("set server {} state ready", server));
    } else {
      commands.push_back(fmt::format("set server {} state maint", server));
    }
  }
  return commands;
}

std::string_view reload_reason_kind(std::string_view reason) {
  // Each prefix or infix is the one plan_update() (and Driver::apply, for "unconfirmed") writes.
  if (reason == "no config is running yet") return "initial";
  if (reason == "global settings changed") return "global";
  if (reason.starts_with("listener added ")) return "listener_added";
  if (reason.starts_with("listener removed ")) return "listener_removed";
  if (reason.starts_with("options changed ")) return "options_changed";
  if (reason.find(" now serves ") != std::string_view::npos) return "service_moved";
  if (reason.find(" server slots, has ") != std::string_view::npos) return "slots_outgrown";
  if (reason.find(" has no free backend") != std::string_view::npos) return "backends_outgrown";
  if (reason.find(" is not bound") != std::string_view::npos) return "port_not_bound";
  if (reason == kUnconfirmedConfigReason) return "unconfirmed";
  return "other";
}

UpdatePlan plan_update(const std::optional<Config>& current, const GlobalSettings& global, const Model& desired,
                       const SlotPolicy& policy) {
  UpdatePlan plan;
  plan.next.global = global;
  plan.next.model = desired;
  if (!current) plan.reload_reasons.push_back("no config is running yet");
  if (current && current->global != global) plan.reload_reasons.push_back("global settings changed");

  std::vector<std::string> commands;
  for (const auto& [port, listener] : desired.listeners) {
    const Listener* before = nullptr;
    const Slots* slots_before = nullptr;
    if (current) {
      if (auto it = current->model.listeners.find(port); it != current->model.listeners.end()) before = &it->second;
      if (auto it = current->slots.backends.find(port); it != current->slots.backends.end()) slots_before = &it->second;
    }
    if (!before || !slots_before) {
      if (current) plan.reload_reasons.push_back("listener added " + describe(listener));
      plan.next.slots.backends[port] = fresh_slots(listener.servers, policy);
      continue;
    }
    if (before->service != listener.service) {
      plan.reload_reasons.push_back(fmt::format("{} now serves {}", proxy_name(port), describe(listener)));
    } else if (before->options != listener.options) {
      plan.reload_reasons.push_back("options changed " + describe(listener));
    }
    auto reassigned = reassign_slots(*slots_before, listener.servers);
    if (!reassigned) {
      plan.reload_reasons.push_back(fmt::format("{} needs {} server slots, has {}", describe(listener),
                                                listener.servers.size(), slots_before->size()));
      plan.next.slots.backends[port] = fresh_slots(listener.servers, policy);
      continue;
    }
    auto slot_changes = slot_commands(port, *slots_before, *reassigned);
    commands.insert(commands.end(), slot_changes.begin(), slot_changes.end());
    plan.next.slots.backends[port] = std::move(*reassigned);
  }
  if (current) {
    for (const auto& [port, listener] : current->model.listeners) {
      if (!desired.listeners.contains(port)) plan.reload_reasons.push_back("listener removed " + describe(listener));
    }
  }
  // A reload renders every server into the new config, so the commands are needed only without one.
  if (!plan.needs_reload()) plan.runtime_commands = std::move(commands);
  return plan;
}

}  // namespace berth::haproxy
