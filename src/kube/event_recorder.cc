#include "kube/event_recorder.h"

#include <fmt/format.h>

#include "kube/micro_time.h"

namespace berth::kube {
namespace {

constexpr std::size_t kMaxMessage = 1024;

std::string truncate_utf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t cut = max;
  // Back up over continuation bytes (10xxxxxx) so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut));
}

}  // namespace

std::string_view to_string(EventType type) { return type == EventType::kWarning ? "Warning" : "Normal"; }

ObjectReference object_reference(const ResourceType& type, const ObjectMeta& meta) {
  return ObjectReference{std::string(type.kind), type.api_version(), meta.namespace_, meta.name, meta.uid,
                         meta.resource_version};
}

Event make_event(const ObjectReference& involved, EventType type, std::string_view reason, std::string_view message,
                 std::string_view component, std::chrono::system_clock::time_point now) {
  Event ev;
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  ev.meta.name = fmt::format("{}.{:x}", involved.name, nanos);
  ev.meta.namespace_ = involved.namespace_.empty() ? "default" : involved.namespace_;
  ev.involved_object = involved;
  ev.reason = std::string(reason);
  ev.message = truncate_utf8(message, kMaxMessage);
  ev.type = std::string(to_string(type));
  ev.count = 1;
  ev.first_timestamp = format_time(now);
  ev.last_timestamp = ev.first_timestamp;
  ev.source_component = std::string(component);
  return ev;
}

Result<Event> create_event(ApiClient& client, const ObjectReference& involved, EventType type,
                           std::string_view reason, std::string_view message, std::string_view component,
                           std::chrono::system_clock::time_point now) {
  Event ev = make_event(involved, type, reason, message, component, now);
  auto created = client.create(kEvents, ev.meta.namespace_, to_json(ev));
  if (!created) return std::unexpected(created.error());
  return parse_event(*created);
}

}  // namespace berth::kube
