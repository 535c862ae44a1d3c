#include "dataplane/serving_status_tracker.h"

namespace berth::dataplane {

// With mu_ held: the entry of the listener on `host_port`, as `built` and `state_of` say (none
// when `built` has no listener there).
void ServingStatusTracker::put_listener(const BuiltModel& built, int host_port, const StateOf& state_of) {
  if (auto old = listener_keys_.find(host_port); old != listener_keys_.end()) {
    ports_.erase(old->second);
    listener_keys_.erase(old);
  }
  not_serving_.erase(host_port);
  auto listener = built.model.listeners.find(host_port);
  if (listener == built.model.listeners.end()) return;
  ServedPort served{.service = built.owner.at(host_port),
                    .service_port = listener->second.service.port,
                    .host_port = host_port,
                    .servers = listener->second.servers};
  std::tie(served.state, served.reason) = state_of(host_port);
  if (served.state != ServedPort::State::kServing) not_serving_.insert(host_port);
  Key key = key_of(served);
  listener_keys_.emplace(host_port, key);
  ports_.insert_or_assign(std::move(key), std::move(served));
}

void ServingStatusTracker::update(const BuiltModel& built, const std::optional<std::set<int>>& changed,
                                  const std::set<int>& recheck, const StateOf& state_of) {
  std::set<int> ports;  // the listeners' host ports to make anew
  if (changed) {
    ports = *changed;
    ports.insert(not_serving_.begin(), not_serving_.end());
    ports.insert(recheck.begin(), recheck.end());
  } else {
    for (const auto& [port, key] : listener_keys_) ports.insert(port);
    for (const auto& [port, listener] : built.model.listeners) ports.insert(port);
  }
  const bool unserved_changed = built.unserved != unserved_;
  std::lock_guard lock(mu_);
  cached_.reset();
  // A port of a Service may go from unserved to a listener or back under one key: the old
  // entries go before the new ones are put.
  if (unserved_changed) {
    for (const UnservedPort& gone : unserved_) ports_.erase(Key{gone.service, gone.service_port, gone.host_port});
  }
  for (int port : ports) put_listener(built, port, state_of);
  if (unserved_changed) {
    for (const UnservedPort& unserved : built.unserved) {
      ServedPort port{.service = unserved.service,
                      .service_port = unserved.service_port,
                      .host_port = unserved.host_port,
                      .reason = unserved.reason};
      ports_.insert_or_assign(key_of(port), std::move(port));
    }
    unserved_ = built.unserved;
  }
}

std::shared_ptr<const ServingStatus> ServingStatusTracker::snapshot() const {
  std::lock_guard lock(mu_);
  if (!cached_) {
    auto status = std::make_shared<ServingStatus>();
    status->ports.reserve(ports_.size());
    for (const auto& [key, port] : ports_) status->ports.push_back(port);
    cached_ = std::move(status);
  }
  return cached_;
}

}  // namespace berth::dataplane
