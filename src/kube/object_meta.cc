#include "kube/object_meta.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace berth::kube {
namespace {

using nlohmann::json;

// Reads an optional string field; absent or null is "", anything else but a string is an error.
Result<std::string> optional_string(const json& obj, const char* field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::string();
  if (!it->is_string()) return make_error(ErrorCode::kParse, fmt::format("metadata.{} is not a string", field));
  return it->get<std::string>();
}

Result<std::map<std::string, std::string>> string_map(const json& obj, const char* field) {
  std::map<std::string, std::string> out;
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return out;
  if (!it->is_object()) return make_error(ErrorCode::kParse, fmt::format("metadata.{} is not an object", field));
  for (const auto& [k, v] : it->items()) {
    if (!v.is_string()) {
      return make_error(ErrorCode::kParse, fmt::format("metadata.{}[{}] is not a string", field, k));
    }
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

}  // namespace

std::string object_key(std::string_view ns, std::string_view name) {
  if (ns.empty()) return std::string(name);
  return fmt::format("{}/{}", ns, name);
}

std::string ObjectMeta::key() const { return object_key(namespace_, name); }

Result<ObjectMeta> parse_object_meta(const json& object) {
  if (!object.is_object()) return make_error(ErrorCode::kParse, "object is not a JSON object");
  auto it = object.find("metadata");
  if (it == object.end() || !it->is_object()) return make_error(ErrorCode::kParse, "metadata is missing");
  const json& m = *it;
  ObjectMeta meta;
  auto take = [&](const char* field, std::string& into) -> Result<void> {
    auto v = optional_string(m, field);
    if (!v) return std::unexpected(v.error());
    into = std::move(*v);
    return {};
  };
  if (auto r = take("name", meta.name); !r) return std::unexpected(r.error());
  if (meta.name.empty()) return make_error(ErrorCode::kParse, "metadata.name is missing");
  if (auto r = take("namespace", meta.namespace_); !r) return std::unexpected(r.error());
  if (auto r = take("uid", meta.uid); !r) return std::unexpected(r.error());
  if (auto r = take("resourceVersion", meta.resource_version); !r) return std::unexpected(r.error());
  if (auto r = take("creationTimestamp", meta.creation_timestamp); !r) return std::unexpected(r.error());
  std::string deletion;
  if (auto r = take("deletionTimestamp", deletion); !r) return std::unexpected(r.error());
  if (!deletion.empty()) meta.deletion_timestamp = std::move(deletion);
  auto labels = string_map(m, "labels");
  if (!labels) return std::unexpected(labels.error());
  meta.labels = std::move(*labels);
  auto annotations = string_map(m, "annotations");
  if (!annotations) return std::unexpected(annotations.error());
  meta.annotations = std::move(*annotations);
  return meta;
}

}  // namespace berth::kube
