// One event of a watch stream: a line `{"type": "...", "object": {...}}`.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace berth::kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  nlohmann::json object;  // the object; for kError a metav1.Status
};

// Parses one line of a watch stream. kParse for malformed JSON, a missing or unknown type, or
// a missing/non-object `object`.
Result<WatchEvent> parse_watch_event(std::string_view line);

}  // namespace berth::kube
