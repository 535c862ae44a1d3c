// Field readers for the typed views (service.h, endpoint_slice.h, lease.h, event.h).
//
// Each reader takes the containing JSON object, the field name and the path of the container
// ("spec.ports[0]") so that a wrong type is reported as a kParse Error naming the full field
// ("spec.ports[0].port is not an integer"). Absent and null fields are "not set"; unknown fields
// are never looked at. Nothing here throws.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace berth::kube::json_field {

// "path.field", or "field" when path is empty.
std::string join(std::string_view path, std::string_view field);

// The field, or nullptr when absent or null. Never fails.
const nlohmann::json* find(const nlohmann::json& object, std::string_view field);

Result<std::optional<std::string>> optional_string(const nlohmann::json& object, std::string_view field,
                                                   std::string_view path);
// An integer that fits [min, max]; floats, strings and out-of-range numbers are kParse.
Result<std::optional<std::int64_t>> optional_int(const nlohmann::json& object, std::string_view field,
                                                 std::string_view path, std::int64_t min, std::int64_t max);
Result<std::optional<bool>> optional_bool(const nlohmann::json& object, std::string_view field,
                                          std::string_view path);
// The field as an object, or nullptr when absent/null; kParse when it is not an object.
Result<const nlohmann::json*> optional_object(const nlohmann::json& object, std::string_view field,
                                              std::string_view path);
// The field as an array, or nullptr when absent/null; kParse when it is not an array.
Result<const nlohmann::json*> optional_array(const nlohmann::json& object, std::string_view field,
                                             std::string_view path);
// A map of string to string (selector, labels); kParse when a value is not a string.
Result<std::map<std::string, std::string>> string_map(const nlohmann::json& object, std::string_view field,
                                                      std::string_view path);

}  // namespace berth::kube::json_field
