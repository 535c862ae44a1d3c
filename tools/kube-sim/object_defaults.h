// The defaults kube-apiserver applies to the objects kube-sim serves (before validation):
// Service spec.type ClusterIP, sessionAffinity None, ports' protocol TCP and targetPort = port,
// ipFamilies/ipFamilyPolicy/internalTrafficPolicy; Namespace status.phase Active and the
// `kubernetes` finalizer; EndpointSlice ports' protocol TCP. ClusterIP allocation is not a
// default: ObjectStore does it, because it needs the allocator's state.
//
// Thread-safety: pure function.
#pragma once

#include <nlohmann/json.hpp>

#include "kube/resource.h"

namespace berth::kubesim {

// In place; leaves fields the client set untouched. Tolerates fields of the wrong JSON type
// (validation reports them).
void apply_defaults(const kube::ResourceType& type, nlohmann::json& object);

}  // namespace berth::kubesim
