// The resources kube-sim serves, one row each: where they live (kube::ResourceType: group,
// version, plural, kind, scope) and what discovery, validation, storage and strategic merge
// patches need to know of them.
//
// Two sorts of rows:
//   - berth's own resources (Namespace, Service, Event, EndpointSlice, Lease), with the
//     semantics berth depends on written out in object_store.cc, object_defaults.cc and
//     object_validation.cc (ClusterIPs, defaults, Service and EndpointSlice validation, ...);
//   - generic ones (ServiceAccount, ConfigMap, the four RBAC kinds, DaemonSet, Deployment),
//     there so that `kubectl apply -k deploy/` works: stored as sent, with only the metadata
//     checks every object gets (its name by the kind's rule, labels, annotations). No
//     defaults, no spec validation, no controllers: a DaemonSet never gets pods or a status.
// A new generic kind is one more row here; nothing else needs to know of it.
//
// Thread-safety: the table is built once and never changes; every function is safe from any
// thread.
#pragma once

#include <string_view>
#include <vector>

#include "kube/resource.h"

namespace berth::kubesim {

// How kube-apiserver validates a kind's metadata.name.
enum class NameRule {
  kDns1123Subdomain,  // most kinds
  kDns1123Label,      // Namespace
  kDns1035Label,      // Service
  kPathSegment,       // the RBAC kinds: anything but "." and "..", without '/' or '%'
};

struct ServedResource {
  kube::ResourceType type;
  std::vector<std::string_view> short_names;  // discovery: `kubectl get svc`
  std::vector<std::string_view> categories;   // discovery: "all" for `kubectl get all`
  NameRule name_rule = NameRule::kDns1123Subdomain;
  bool status_subresource = false;  // a write to the object keeps its stored status
  bool create_on_update = false;    // a PUT of a missing object creates it (Lease, Event)
  bool generic = false;             // stored as sent (see above)
  // Where a pod template's spec sits ("spec.template.spec"), whose lists (containers, volumes,
  // env, ...) a strategic merge patch merges by key; "" for kinds without one.
  std::string_view pod_spec_path;
};

// Every served resource, berth's own first, in the order discovery lists them.
const std::vector<ServedResource>& served_resource_table();

// The same rows as ResourceTypes (what ObjectStore and the HTTP layer take).
const std::vector<kube::ResourceType>& served_resources();

// Lookup by URL parts; nullptr for a resource kube-sim does not serve. The pointer is into
// served_resources() and stays valid.
const kube::ResourceType* find_resource(std::string_view group, std::string_view version, std::string_view plural);

// The row of `type` (matched by group, version and plural), or of `kind`; nullptr when not served.
const ServedResource* served_resource(const kube::ResourceType& type);
const ServedResource* served_resource_of_kind(std::string_view kind);

}  // namespace berth::kubesim
