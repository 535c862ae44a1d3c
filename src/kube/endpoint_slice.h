// A typed view of a discovery.k8s.io/v1 EndpointSlice: the endpoints of one Service.
//
// Conditions follow the API's meaning: each is optional, and an absent `ready` or `serving`
// is "unknown", which consumers should treat as ready/serving; an absent `terminating` is
// treated as not terminating. is_ready()/is_serving()/is_terminating() apply those defaults.
//
// Unknown fields are ignored; a wrong type is a kParse Error naming the field.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/error.h"
#include "kube/object_meta.h"

namespace berth::kube {

// The label that ties a slice to its Service.
inline constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";

struct EndpointConditions {
  std::optional<bool> ready;
  std::optional<bool> serving;
  std::optional<bool> terminating;

  bool is_ready() const { return ready.value_or(true); }
  bool is_serving() const { return serving.value_or(true); }
  bool is_terminating() const { return terminating.value_or(false); }
  bool operator==(const EndpointConditions&) const = default;
};

struct Endpoint {
  std::vector<std::string> addresses;  // at least one; all of the slice's address_type
  EndpointConditions conditions;
  std::string hostname;
  std::string node_name;
  std::string zone;
};

struct EndpointPort {
  std::string name;                  // matches ServicePort::name
  std::optional<std::int32_t> port;  // absent: all ports (the API's meaning)
  std::string protocol = "TCP";
  bool operator==(const EndpointPort&) const = default;
};

struct EndpointSlice {
  ObjectMeta meta;
  std::string service_name;  // from the kubernetes.io/service-name label; "" when absent
  std::string address_type;  // IPv4, IPv6, FQDN
  std::vector<Endpoint> endpoints;
  std::vector<EndpointPort> ports;
};

Result<EndpointSlice> parse_endpoint_slice(const nlohmann::json& object);

}  // namespace berth::kube
