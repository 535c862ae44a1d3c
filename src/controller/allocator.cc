#include "controller/allocator.h"

#include <algorithm>
#include <unordered_map>
#include <utility>
#include <variant>

#include <fmt/format.h>

#include "controller/allocation_annotations.h"
#include "controller/tcp_ports.h"

namespace berth::controller {
namespace {

std::string namespace_of(const std::string& key) { return key.substr(0, key.find('/')); }

}  // namespace

std::string port_owner(const std::string& service_key, int service_port) {
  return fmt::format("{}/{}", service_key, service_port);
}

std::string service_key_of_owner(const std::string& owner) { return owner.substr(0, owner.rfind('/')); }

Allocator::Allocator(const AllocatorConfig& config, Clock& clock)
    : config_(config), clock_(clock), pool_(config.port_range, config.excluded, clock, config.quarantine) {}

bool Allocator::is_marked_here(const kube::Service& service) const {
  return is_marked(service.meta, config_.annotations) &&
         (config_.watch_namespace.empty() || service.meta.namespace_ == config_.watch_namespace);
}

RebuildSummary Allocator::rebuild(const std::vector<kube::Service>& services, const QuarantinedPorts& persisted,
                                  std::chrono::system_clock::time_point wall_now) {
  std::vector<ports::Claim> claims;
  std::unordered_map<std::string, std::string> uids;
  QuarantinedPorts quarantine = persisted;
  RebuildSummary summary;
  auto quarantine_now = [&](const HostPortValue& value) {
    if (const int* port = std::get_if<int>(&value)) {
      auto [it, inserted] = quarantine.try_emplace(*port, wall_now);
      if (!inserted) it->second = std::max(it->second, wall_now);
    }
  };
  for (const kube::Service& service : services) {
    AllocationAnnotations annotations = read_allocation_annotations(service, config_.annotations);
    const std::string key = service.meta.key();
    if (!is_marked_here(service)) {
      for (const auto& [service_port, value] : annotations.by_service_port) quarantine_now(value);
      for (const StaleAllocation& stale : annotations.stale) quarantine_now(stale.host_port);
      continue;
    }
    ++summary.services;
    uids[key] = service.meta.uid;
    for (const StaleAllocation& stale : annotations.stale) quarantine_now(stale.host_port);
    for (const auto& [service_port, value] : annotations.by_service_port) {
      if (const int* port = std::get_if<int>(&value)) {
        claims.push_back({.owner = port_owner(key, service_port),
                          .port = *port,
                          .claim_order = service.meta.creation_timestamp + "/" + service.meta.uid});
      }
    }
  }

  ports::RebuildReport report = pool_.rebuild(std::move(claims), quarantine, wall_now);
  records_.clear();
  namespace_ports_.clear();
  pending_release_.clear();
  reported_.clear();
  for (const ports::Claim& claim : report.accepted) {
    const std::string key = service_key_of_owner(claim.owner);
    const int service_port = std::stoi(claim.owner.substr(key.size() + 1));
    ServiceRecord& record = records_[key];
    record.uid = uids[key];
    record.ports[service_port] = claim.port;
    ++namespace_ports_[namespace_of(key)];
  }
  summary.kept = report.accepted.size();
  summary.rejected = report.rejected.size();
  for (const ports::RejectedClaim& rejected : report.rejected) {
    summary.problems.push_back(fmt::format("{} claims host port {}: {}", rejected.claim.owner, rejected.claim.port,
                                           rejected.reason.describe()));
  }
  summary.quarantined = pool_.counts().quarantined;
  return summary;
}

bool Allocator::needs_confirmation(const std::string& key, const kube::Service* service) const {
  auto record = records_.find(key);
  if (record == records_.end() || record->second.ports.empty()) return false;
  if (service == nullptr || service->meta.uid != record->second.uid) return true;
  if (!is_marked_here(*service)) return false;  // released only after our write
  AllocationAnnotations annotations = read_allocation_annotations(*service, config_.annotations);
  for (const auto& [service_port, value] : annotations.by_service_port) {
    auto held = record->second.ports.find(service_port);
    const int* port = std::get_if<int>(&value);
    if (held != record->second.ports.end() && port != nullptr && *port != held->second) return true;
  }
  return false;
}

std::vector<PortAssignment> Allocator::release_all(const std::string& key) {
  std::vector<PortAssignment> released;
  auto record = records_.find(key);
  if (record == records_.end()) return released;
  for (const auto& [service_port, host_port] : record->second.ports) {
    pool_.release(port_owner(key, service_port));
    released.push_back({.service_port = service_port, .host_port = host_port});
  }
  auto count = namespace_ports_.find(namespace_of(key));
  if (count != namespace_ports_.end()) count->second -= std::min(count->second, record->second.ports.size());
  records_.erase(record);
  return released;
}

std::vector<PortAssignment> Allocator::release_deleted(const std::string& key) {
  reported_.erase(key);
  return release_all(key);
}

std::vector<PortAssignment> Allocator::release_replaced(const kube::Service& service) {
  const std::string key = service.meta.key();
  auto record = records_.find(key);
  if (record == records_.end() || record->second.uid == service.meta.uid) return {};
  reported_.erase(key);
  return release_all(key);
}

void Allocator::hold(const std::string& key, const std::string& uid, int service_port, int host_port) {
  ServiceRecord& record = records_[key];
  record.uid = uid;
  record.ports[service_port] = host_port;
  ++namespace_ports_[namespace_of(key)];
}

void Allocator::unhold(const std::string& key, int service_port) {
  auto record = records_.find(key);
  if (record == records_.end() || record->second.ports.erase(service_port) == 0) return;
  auto count = namespace_ports_.find(namespace_of(key));
  if (count != namespace_ports_.end() && count->second > 0) --count->second;
  if (record->second.ports.empty()) records_.erase(record);
}

std::optional<int> Allocator::take_fresh(const kube::Service& service, int service_port, Plan& plan) {
  const std::string key = service.meta.key();
  const std::string& ns = service.meta.namespace_;
  if (config_.max_ports_per_namespace > 0 &&
      namespace_port_count(ns) >= static_cast<std::size_t>(config_.max_ports_per_namespace)) {
    plan.warnings.push_back(
        {"PortLimitReached",
         fmt::format("namespace {} holds {} host ports, the most --max-ports-per-namespace allows; service port {} "
                     "gets one when a port of the namespace is released",
                     ns, config_.max_ports_per_namespace, service_port)});
    plan.waiting = true;
    return std::nullopt;
  }
  auto port = pool_.allocate(port_owner(key, service_port));
  if (!port) {
    plan.warnings.push_back({"PoolExhausted", fmt::format("no free host port for service port {}: {}; retrying when "
                                                          "a port is released or leaves quarantine",
                                                          service_port, port.error().describe())});
    plan.waiting = true;
    return std::nullopt;
  }
  hold(key, service.meta.uid, service_port, *port);
  plan.reserved.push_back({.service_port = service_port, .host_port = *port});
  return *port;
}

Plan Allocator::plan(const kube::Service& service) {
  Plan plan;
  const std::string key = service.meta.key();
  plan.released_now = release_replaced(service);

  if (is_marked_here(service)) {
    TcpPorts ports = tcp_ports(service);
    for (const SkippedPort& skipped : ports.skipped) {
      plan.warnings.push_back({"UnsupportedProtocol",
                               fmt::format("service port {} is not exposed: {}", skipped.port.port, skipped.reason)});
    }
    AllocationAnnotations annotations = read_allocation_annotations(service, config_.annotations);
    for (const kube::ServicePort& port : ports.tcp) {
      const int service_port = port.port;
      const std::string annotation = allocation_key(config_.annotations, service_port);
      const std::map<int, int> held_ports = held(key);
      auto held_it = held_ports.find(service_port);
      std::optional<int> held_port;
      if (held_it != held_ports.end()) held_port = held_it->second;
      auto value = annotations.by_service_port.find(service_port);

      auto refuse = [&](const ports::PortPoolError& why, int wanted, std::string_view outcome) {
        if (why.code == ports::PortPoolErrorCode::kAlreadyAllocated) {
          const std::string holder = service_key_of_owner(why.holder);
          Warning warning{"PortConflict", fmt::format("{}: host port {} is held by {}, the older claim; {}",
                                                      annotation, wanted, holder, outcome)};
          plan.holder_notices.push_back(
              {holder,
               fmt::format("host port {} is also claimed by {} ({}); this Service keeps it as the older claim", wanted,
                           key, annotation),
               warning});
          plan.warnings.push_back(std::move(warning));
        } else if (why.code == ports::PortPoolErrorCode::kUnusable) {
          plan.warnings.push_back({"PortUnusable", fmt::format("{}: {}; {}", annotation, why.describe(), outcome)});
        } else {
          plan.warnings.push_back({"InvalidAnnotation", fmt::format("{}: host port {} cannot be used: {}; {}",
                                                                    annotation, wanted, why.describe(), outcome)});
        }
      };

      if (value != annotations.by_service_port.end()) {
        if (const int* wanted = std::get_if<int>(&value->second)) {
          if (held_port == *wanted) {
            plan.desired[service_port] = *wanted;
            continue;
          }
          if (held_port) {
            // A user moved the port by hand: honour it when the pool can give the new one.
            if (auto why = pool_.why_unavailable(*wanted)) {
              refuse(*why, *wanted, fmt::format("host port {} is kept", *held_port));
              plan.desired[service_port] = *held_port;
              continue;
            }
            pool_.release(port_owner(key, service_port));
            unhold(key, service_port);
            plan.released_now.push_back({.service_port = service_port, .host_port = *held_port});
            pool_.allocate_specific(port_owner(key, service_port), *wanted);
            hold(key, service.meta.uid, service_port, *wanted);
            plan.reserved.push_back({.service_port = service_port, .host_port = *wanted, .pinned = true});
            plan.desired[service_port] = *wanted;
            continue;
          }
          if (config_.max_ports_per_namespace == 0 ||
              namespace_port_count(service.meta.namespace_) < static_cast<std::size_t>(config_.max_ports_per_namespace)) {
            auto taken = pool_.allocate_specific(port_owner(key, service_port), *wanted);
            if (taken) {
              hold(key, service.meta.uid, service_port, *wanted);
              plan.reserved.push_back({.service_port = service_port, .host_port = *wanted, .pinned = true});
              plan.desired[service_port] = *wanted;
              continue;
            }
            refuse(taken.error(), *wanted, "another host port is allocated");
          }
        } else {
          const InvalidValue& invalid = std::get<InvalidValue>(value->second);
          plan.warnings.push_back(
              {"InvalidAnnotation",
               fmt::format("{}: \"{}\" is not a host port ({}); {}", annotation, invalid.raw, invalid.reason,
                           held_port ? fmt::format("host port {} is written back", *held_port)
                                     : std::string("a host port is allocated"))});
        }
      }
      if (held_port) {
        plan.desired[service_port] = *held_port;
      } else if (auto fresh = take_fresh(service, service_port, plan)) {
        plan.desired[service_port] = *fresh;
      }
    }
  }

  for (const auto& [service_port, host_port] : held(key)) {
    if (plan.desired.contains(service_port)) continue;
    plan.to_release.push_back({.service_port = service_port, .host_port = host_port});
    pending_release_[host_port] = clock_.now();
  }
  plan.changes = allocation_changes(service.meta, config_.annotations, plan.desired);
  return plan;
}

void Allocator::commit(const std::string& key, const Plan& plan) {
  for (const PortAssignment& leaving : plan.to_release) {
    pool_.release(port_owner(key, leaving.service_port));
    unhold(key, leaving.service_port);
    pending_release_.erase(leaving.host_port);
  }
}

void Allocator::rollback(const std::string& key, const Plan& plan) {
  for (const PortAssignment& reserved : plan.reserved) {
    pool_.release_without_quarantine(port_owner(key, reserved.service_port));
    unhold(key, reserved.service_port);
  }
  for (const PortAssignment& leaving : plan.to_release) pending_release_.erase(leaving.host_port);
}

std::vector<Warning> Allocator::new_warnings(const std::string& key, const std::vector<Warning>& now) {
  std::set<Warning> current(now.begin(), now.end());
  std::set<Warning>& reported = reported_[key];
  std::vector<Warning> fresh;
  for (const Warning& warning : current) {
    if (!reported.contains(warning)) fresh.push_back(warning);
  }
  reported = std::move(current);
  if (reported.empty()) reported_.erase(key);
  return fresh;
}

void Allocator::forget_warnings(const std::string& key) { reported_.erase(key); }

Result<std::optional<std::string>> Allocator::mark_unusable(int port) {
  auto evicted = pool_.mark_unusable(port);
  if (!evicted) return make_error(ErrorCode::kInvalidArgument, evicted.error().describe());
  if (!*evicted) return std::optional<std::string>();
  const std::string key = service_key_of_owner(**evicted);
  unhold(key, std::stoi(evicted->value().substr(key.size() + 1)));
  return std::optional<std::string>(key);
}

QuarantinedPorts Allocator::quarantine_to_persist(std::chrono::system_clock::time_point wall_now) const {
  QuarantinedPorts out = pool_.export_quarantine(wall_now);
  const Clock::time_point now = clock_.now();
  for (const auto& [port, decided] : pending_release_) {
    auto released = wall_now - std::chrono::duration_cast<std::chrono::system_clock::duration>(now - decided);
    auto [it, inserted] = out.try_emplace(port, released);
    if (!inserted) it->second = std::max(it->second, released);
  }
  return out;
}

std::map<int, int> Allocator::held(const std::string& key) const {
  auto record = records_.find(key);
  return record == records_.end() ? std::map<int, int>{} : record->second.ports;
}

std::size_t Allocator::namespace_port_count(const std::string& ns) const {
  auto count = namespace_ports_.find(ns);
  return count == namespace_ports_.end() ? 0 : count->second;
}

}  // namespace berth::controller
