// What this replica's data plane serves, as `berth status` shows it: every TCP port of every
// marked Service, with its host port and whether HAProxy serves it here, and why not. The sync
// loop (haproxy_sync.h) publishes one after each sync.
//
// Thread-safety: a value type; published as shared_ptr<const ServingStatus>.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "haproxy/model.h"

namespace berth::dataplane {

struct ServedPort {
  enum class State {
    kServing,    // HAProxy serves the host port with this Service's listener
    kPending,    // wanted, not applied yet (a reload waits for --min-reload-interval, or failed)
    kNotServed,  // no listener: `reason` says why
  };
  std::string service;  // "ns/name"
  int service_port = 0;
  int host_port = 0;    // 0: none
  State state = State::kNotServed;
  std::string reason;   // empty while serving
  std::vector<haproxy::Server> servers;  // the endpoints the listener should send to
  bool operator==(const ServedPort&) const = default;
};

std::string_view state_name(ServedPort::State state);  // "serving", "pending", "not served"

struct ServingStatus {
  std::vector<ServedPort> ports;  // by service, then service port
};

}  // namespace berth::dataplane
