#include "controller/tcp_ports.h"

#include <set>

#include <fmt/format.h>

namespace berth::controller {

TcpPorts tcp_ports(const kube::Service& service) {
  TcpPorts result;
  std::set<std::int32_t> seen;
  for (const kube::ServicePort& port : service.ports) {
    if (!port.protocol.empty() && port.protocol != "TCP") {
      result.skipped.push_back({port, fmt::format("protocol {} is not supported, only TCP", port.protocol)});
    } else if (port.port < 1 || port.port > 65535) {
      result.skipped.push_back({port, fmt::format("port {} is outside 1..65535", port.port)});
    } else if (seen.insert(port.port).second) {
      result.tcp.push_back(port);
    }
  }
  return result;
}

}  // namespace berth::controller
