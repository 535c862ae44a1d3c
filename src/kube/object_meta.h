// The part of metav1.ObjectMeta that berth reads, shared by every typed view.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "common/error.h"

namespace berth::kube {

struct ObjectMeta {
  std::string name;
  std::string namespace_;  // empty for cluster-scoped objects
  std::string uid;
  std::string resource_version;
  // RFC 3339 in UTC as the API server writes it ("2026-11-23T19:29:33Z"), so that string order
  // is time order.
  std::string creation_timestamp;
  std::optional<std::string> deletion_timestamp;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;

  // "namespace/name", or "name" for cluster-scoped objects: the key of Store and work queues.
  std::string key() const;
};

// Parses `metadata` of an object. Fails (kParse) when metadata is missing or not an object,
// when name is missing, or a field has the wrong JSON type; unknown fields are ignored.
Result<ObjectMeta> parse_object_meta(const nlohmann::json& object);

// "ns/name" or "name".
std::string object_key(std::string_view ns, std::string_view name);

}  // namespace berth::kube
