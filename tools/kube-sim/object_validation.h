// kube-apiserver's validation of the objects kube-sim serves, reduced to the checks that are
// cheap and that clients can trip over: object names, label and annotation keys/values, the
// annotation size limit, Service ports/types/protocols, EndpointSlice addressType. Generic kinds
// (served_resource.h) get the metadata checks only, their names by the kind's NameRule.
//
// Field errors use kube-apiserver's wording, e.g.
//   spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive
// and invalid_error() wraps them as the 422 the API server returns:
//   Service "x" is invalid: spec.ports[0].port: Invalid value: ...
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "kube/resource.h"

namespace berth::kubesim {

// Empty when `object` is valid. `object` has defaults applied and metadata.name set.
std::vector<std::string> validate_object(const kube::ResourceType& type, const nlohmann::json& object);

// kInvalid / 422: `<Kind> "<name>" is invalid: <error>` or `... is invalid: [<e1>, <e2>]`.
Error invalid_error(const kube::ResourceType& type, std::string_view name, const std::vector<std::string>& errors);

// The name rules themselves (DNS-1123, qualified names, label values) are in
// src/kube/name_validation.h, shared with the controller's flag validation.

}  // namespace berth::kubesim
