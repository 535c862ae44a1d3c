// A typed view of a core/v1 Event, readable and writable. berth writes Events on Services
// (event_recorder.h); tests and the status API read them.
//
// Unknown fields are ignored on parse; a wrong type is a kParse Error naming the field.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "kube/object_meta.h"

namespace berth::kube {

// corev1.ObjectReference: which object an Event is about.
struct ObjectReference {
  std::string kind;
  std::string api_version;
  std::string namespace_;
  std::string name;
  std::string uid;
  std::string resource_version;
  bool operator==(const ObjectReference&) const = default;
};

struct Event {
  ObjectMeta meta;
  ObjectReference involved_object;
  std::string reason;   // UpperCamelCase, e.g. "PortAllocated", "InvalidAnnotation"
  std::string message;
  std::string type;     // "Normal" or "Warning"
  std::int32_t count = 0;
  std::string first_timestamp;  // metav1.Time, RFC 3339 seconds
  std::string last_timestamp;
  std::string source_component;
  std::string source_host;
};

Result<Event> parse_event(const nlohmann::json& object);
// The full object (apiVersion, kind, metadata, ...) for create.
nlohmann::json to_json(const Event& event);

}  // namespace berth::kube
