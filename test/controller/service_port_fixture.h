// A Service port for the controller's table tests: target port = port unless a test sets it.
#pragma once

#include <cstdint>
#include <string>

#include "kube/service.h"

namespace berth::controller {

inline kube::ServicePort port(std::int32_t number, std::string protocol = "TCP", std::string name = "") {
  kube::ServicePort p;
  p.name = std::move(name);
  p.port = number;
  p.target_port.value = number;
  p.protocol = std::move(protocol);
  return p;
}

}  // namespace berth::controller
