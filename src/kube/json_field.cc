#include "kube/json_field.h"

#include <fmt/format.h>

namespace berth::kube::json_field {

using nlohmann::json;

std::string join(std::string_view path, std::string_view field) {
  if (path.empty()) return std::string(field);
  return fmt::format("{}.{}", path, field);
}

const json* find(const json& object, std::string_view field) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::optional<std::string>> optional_string(const json& object, std::string_view field,
                                                   std::string_view path) {
  const json* v = find(object, field);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return make_error(ErrorCode::kParse, fmt::format("{} is not a string", join(path, field)));
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::optional<std::int64_t>> optional_int(const json& object, std::string_view field, std::string_view path,
                                                 std::int64_t min, std::int64_t max) {
  const json* v = find(object, field);
  if (v == nullptr) return std::optional<std::int64_t>();
  std::int64_t value = 0;
  if (v->is_number_unsigned()) {
    auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(max)) {
      return make_error(ErrorCode::kParse, fmt::format("{} is out of range [{}, {}]", join(path, field), min, max));
    }
    value = static_cast<std::int64_t>(u);
  } else if (v->is_number_integer()) {
    value = v->get<std::int64_t>();
  } else {
    // Floats (1e20, 3.5) and strings ("3306") are not integers in the Kubernetes API.
    return make_error(ErrorCode::kParse, fmt::format("{} is not an integer", join(path, field)));
  }
  if (value < min || value > max) {
    return make_error(ErrorCode::kParse, fmt::format("{} is out of range [{}, {}]", join(path, field), min, max));
  }
  return std::optional<std::int64_t>(value);
}

Result<std::optional<bool>> optional_bool(const json& object, std::string_view field, std::string_view path) {
  const json* v = find(object, field);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return make_error(ErrorCode::kParse, fmt::format("{} is not a boolean", join(path, field)));
  return std::optional<bool>(v->get<bool>());
}

Result<const json*> optional_object(const json& object, std::string_view field, std::string_view path) {
  const json* v = find(object, field);
  if (v == nullptr) return static_cast<const json*>(nullptr);
  if (!v->is_object()) return make_error(ErrorCode::kParse, fmt::format("{} is not an object", join(path, field)));
  return v;
}

Result<const json*> optional_array(const json& object, std::string_view field, std::string_view path) {
  const json* v = find(object, field);
  if (v == nullptr) return static_cast<const json*>(nullptr);
  if (!v->is_array()) return make_error(ErrorCode::kParse, fmt::format("{} is not an array", join(path, field)));
  return v;
}

Result<std::map<std::string, std::string>> string_map(const json& object, std::string_view field,
                                                      std::string_view path) {
  std::map<std::string, std::string> out;
  auto obj = optional_object(object, field, path);
  if (!obj) return std::unexpected(obj.error());
  if (*obj == nullptr) return out;
  for (const auto& [k, v] : (*obj)->items()) {
    if (!v.is_string()) {
      return make_error(ErrorCode::kParse, fmt::format("{}[{}] is not a string", join(path, field), k));
    }
    out.emplace(k, v.get<std::string>());
  }
  return out;
}

}  // namespace berth::kube::json_field
