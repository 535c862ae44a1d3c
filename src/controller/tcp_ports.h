// Which spec ports of a Service get a host port: TCP ones (an empty protocol means TCP, as the
// API server defaults it). HAProxy's TCP mode cannot carry UDP or SCTP, so those are skipped
// with a reason the controller turns into a Warning Event.
//
// Thread-safety: pure function.
#pragma once

#include <string>
#include <vector>

#include "kube/service.h"

namespace berth::controller {

struct SkippedPort {
  kube::ServicePort port;
  std::string reason;  // "protocol UDP is not supported, only TCP"
  bool operator==(const SkippedPort&) const = default;
};

struct TcpPorts {
  std::vector<kube::ServicePort> tcp;  // in spec order, one per port number
  std::vector<SkippedPort> skipped;    // in spec order
};

// A spec port is skipped when its protocol is neither "TCP" nor empty, or its number is outside
// 1..65535. A second TCP entry with an already-seen number (the API server rejects those) is
// dropped silently: the allocation is per port number.
TcpPorts tcp_ports(const kube::Service& service);

}  // namespace berth::controller
