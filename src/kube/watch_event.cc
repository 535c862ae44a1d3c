#include "kube/watch_event.h"

#include <fmt/format.h>

namespace berth::kube {
namespace {

std::optional<WatchEventType> event_type(std::string_view s) {
  if (s == "ADDED") return WatchEventType::kAdded;
  if (s == "MODIFIED") return WatchEventType::kModified;
  if (s == "DELETED") return WatchEventType::kDeleted;
  if (s == "BOOKMARK") return WatchEventType::kBookmark;
  if (s == "ERROR") return WatchEventType::kError;
  return std::nullopt;
}

}  // namespace

Result<WatchEvent> parse_watch_event(std::string_view line) {
  auto doc = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return make_error(ErrorCode::kParse, "watch event is not valid JSON");
  if (!doc.is_object()) return make_error(ErrorCode::kParse, "watch event is not a JSON object");
  auto type_it = doc.find("type");
  if (type_it == doc.end() || !type_it->is_string()) {
    return make_error(ErrorCode::kParse, "watch event has no type");
  }
  auto type = event_type(type_it->get_ref<const std::string&>());
  if (!type) {
    return make_error(ErrorCode::kParse,
                      fmt::format("watch event has unknown type \"{}\"", type_it->get_ref<const std::string&>()));
  }
  auto object_it = doc.find("object");
  if (object_it == doc.end() || !object_it->is_object()) {
    return make_error(ErrorCode::kParse, "watch event has no object");
  }
  return WatchEvent{*type, std::move(*object_it)};
}

}  // namespace berth::kube
