#include "kube/event.h"

#include <limits>

#include <fmt/format.h>

#include "kube/json_field.h"
#include "kube/object_meta_json.h"
#include "kube/resource.h"

namespace berth::kube {

namespace jf = json_field;

Result<Event> parse_event(const nlohmann::json& object) {
  Event ev;
  auto meta = parse_object_meta(object);
  if (!meta) return std::unexpected(meta.error());
  ev.meta = std::move(*meta);

  auto strings = [&](const nlohmann::json& from, std::string_view path,
                     std::initializer_list<std::pair<const char*, std::string*>> fields) -> Result<void> {
    for (auto [field, into] : fields) {
      auto v = jf::optional_string(from, field, path);
      if (!v) return std::unexpected(v.error());
      *into = v->value_or("");
    }
    return {};
  };
  auto involved = jf::optional_object(object, "involvedObject", "");
  if (!involved) return std::unexpected(involved.error());
  if (*involved != nullptr) {
    ObjectReference& r = ev.involved_object;
    if (auto s = strings(**involved, "involvedObject",
                         {{"kind", &r.kind}, {"apiVersion", &r.api_version}, {"namespace", &r.namespace_},
                          {"name", &r.name}, {"uid", &r.uid}, {"resourceVersion", &r.resource_version}});
        !s) {
      return std::unexpected(s.error());
    }
  }
  if (auto s = strings(object, "",
                       {{"reason", &ev.reason}, {"message", &ev.message}, {"type", &ev.type},
                        {"firstTimestamp", &ev.first_timestamp}, {"lastTimestamp", &ev.last_timestamp}});
      !s) {
    return std::unexpected(s.error());
  }
  auto count = jf::optional_int(object, "count", "", 0, std::numeric_limits<std::int32_t>::max());
  if (!count) return std::unexpected(count.error());
  ev.count = static_cast<std::int32_t>(count->value_or(0));
  auto source = jf::optional_object(object, "source", "");
  if (!source) return std::unexpected(source.error());
  if (*source != nullptr) {
    if (auto s = strings(**source, "source", {{"component", &ev.source_component}, {"host", &ev.source_host}}); !s) {
      return std::unexpected(s.error());
    }
  }
  return ev;
}

nlohmann::json to_json(const Event& ev) {
  nlohmann::json involved = nlohmann::json::object();
  const ObjectReference& r = ev.involved_object;
  for (auto [field, value] : {std::pair{"kind", &r.kind}, std::pair{"apiVersion", &r.api_version},
                              std::pair{"namespace", &r.namespace_}, std::pair{"name", &r.name},
                              std::pair{"uid", &r.uid}, std::pair{"resourceVersion", &r.resource_version}}) {
    if (!value->empty()) involved[field] = *value;
  }
  nlohmann::json out = {{"apiVersion", kEvents.api_version()},
                        {"kind", kEvents.kind},
                        {"metadata", to_json(ev.meta)},
                        {"involvedObject", involved},
                        {"reason", ev.reason},
                        {"message", ev.message},
                        {"type", ev.type},
                        {"count", ev.count}};
  if (!ev.first_timestamp.empty()) out["firstTimestamp"] = ev.first_timestamp;
  if (!ev.last_timestamp.empty()) out["lastTimestamp"] = ev.last_timestamp;
  nlohmann::json source = nlohmann::json::object();
  if (!ev.source_component.empty()) source["component"] = ev.source_component;
  if (!ev.source_host.empty()) source["host"] = ev.source_host;
  if (!source.empty()) out["source"] = source;
  return out;
}

}  // namespace berth::kube
