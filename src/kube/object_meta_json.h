// Writing the part of ObjectMeta that berth sets on objects it creates or updates (Leases,
// Events): name, namespace, resourceVersion (the update precondition), labels, annotations.
// Empty fields are left out.
//
// Thread-safety: pure function.
#pragma once

#include <nlohmann/json.hpp>

#include "kube/object_meta.h"

namespace berth::kube {

nlohmann::json to_json(const ObjectMeta& meta);

}  // namespace berth::kube
