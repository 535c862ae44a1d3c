// Which Kubernetes resource a request is about, and the REST paths for it.
//
//   kServices.collection_path("default")      -> /api/v1/namespaces/default/services
//   kServices.collection_path("")             -> /api/v1/services            (all namespaces)
//   kEndpointSlices.object_path("ns", "a")    -> /apis/discovery.k8s.io/v1/namespaces/ns/endpointslices/a
//
// Names and namespaces are percent-encoded by the caller's HTTP layer only if they need it; the
// API server's validation (DNS-1123) means they never do for objects that exist.
#pragma once

#include <string>
#include <string_view>

namespace berth::kube {

struct ResourceType {
  std::string_view group;    // "" for the core group
  std::string_view version;  // "v1"
  std::string_view plural;   // "services"
  std::string_view kind;     // "Service"
  bool namespaced = true;

  // "/api/v1" or "/apis/<group>/<version>".
  std::string group_version_path() const;
  // "v1" or "<group>/<version>", as in an object's apiVersion.
  std::string api_version() const;
  // Collection URL; an empty namespace means all namespaces (or a cluster-scoped resource).
  std::string collection_path(std::string_view ns) const;
  std::string object_path(std::string_view ns, std::string_view name) const;
};

inline constexpr ResourceType kNamespaces{"", "v1", "namespaces", "Namespace", false};
inline constexpr ResourceType kServices{"", "v1", "services", "Service", true};
inline constexpr ResourceType kEvents{"", "v1", "events", "Event", true};
inline constexpr ResourceType kEndpointSlices{"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true};
inline constexpr ResourceType kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};

}  // namespace berth::kube
