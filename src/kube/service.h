// A typed view of a core/v1 Service: the fields berth reads.
//
// Parsed from the JSON of a GET/LIST/watch; unknown fields are ignored, a field with the wrong
// type is a kParse Error naming it ("spec.ports[1].port is not an integer"). Defaults that the
// API server applies are applied here too for objects that lack them (type ClusterIP, protocol
// TCP, targetPort = port).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.h"
#include "kube/object_meta.h"

namespace berth::kube {

// intstr.IntOrString: a port number or a named container port.
struct IntOrString {
  std::variant<std::int32_t, std::string> value = std::int32_t{0};

  bool is_int() const { return std::holds_alternative<std::int32_t>(value); }
  std::int32_t int_value() const { return std::get<std::int32_t>(value); }
  const std::string& string_value() const { return std::get<std::string>(value); }
  bool operator==(const IntOrString&) const = default;
};

struct ServicePort {
  std::string name;        // may be empty for a single-port Service
  std::int32_t port = 0;   // 1..65535
  IntOrString target_port;
  std::string protocol = "TCP";  // TCP, UDP, SCTP
  bool operator==(const ServicePort&) const = default;
};

struct Service {
  ObjectMeta meta;
  std::string type = "ClusterIP";  // ClusterIP, NodePort, LoadBalancer, ExternalName
  std::string cluster_ip;          // "" or "None" (headless)
  std::vector<ServicePort> ports;
  std::map<std::string, std::string> selector;
};

Result<Service> parse_service(const nlohmann::json& object);

}  // namespace berth::kube
