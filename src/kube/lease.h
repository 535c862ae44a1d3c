// A typed view of a coordination.k8s.io/v1 Lease (leader election), readable and writable.
//
// Times are metav1.MicroTime strings ("2026-11-23T19:29:33.123456Z"; micro_time.h formats and
// parses them); empty means unset. Unknown fields are ignored on parse; a wrong type is a kParse
// Error naming the field.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "kube/object_meta.h"

namespace berth::kube {

struct Lease {
  ObjectMeta meta;  // resource_version is the precondition of an update
  std::string holder_identity;  // "" = nobody holds it
  std::optional<std::int32_t> lease_duration_seconds;
  std::string acquire_time;
  std::string renew_time;
  std::int32_t lease_transitions = 0;
};

Result<Lease> parse_lease(const nlohmann::json& object);
// The full object (apiVersion, kind, metadata, spec) for create and update.
nlohmann::json to_json(const Lease& lease);

}  // namespace berth::kube
