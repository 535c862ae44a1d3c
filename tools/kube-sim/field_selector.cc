#include "kube-sim/field_selector.h"

#include <fmt/format.h>

namespace berth::kubesim {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string field_value(const nlohmann::json& object, std::string_view field) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  auto it = meta->find(field == "metadata.name" ? "name" : "namespace");
  if (it == meta->end() || !it->is_string()) return "";
  return it->get<std::string>();
}

}  // namespace

Result<FieldSelector> FieldSelector::parse(std::string_view text) {
  FieldSelector sel;
  if (trim(text).empty()) return sel;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string_view part = trim(text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    Requirement req;
    std::size_t op_pos;
    std::size_t op_len;
    if ((op_pos = part.find("!=")) != std::string_view::npos) {
      req.equals = false;
      op_len = 2;
    } else if ((op_pos = part.find("==")) != std::string_view::npos) {
      op_len = 2;
    } else if ((op_pos = part.find('=')) != std::string_view::npos) {
      op_len = 1;
    } else {
      return make_error(ErrorCode::kInvalidArgument,
                        fmt::format("invalid field selector \"{}\": \"{}\" is not a valid field selector: no operator", text, part), 400);
    }
    req.field = std::string(trim(part.substr(0, op_pos)));
    req.value = std::string(trim(part.substr(op_pos + op_len)));
    if (req.field != "metadata.name" && req.field != "metadata.namespace") {
      return make_error(ErrorCode::kInvalidArgument, fmt::format("field label not supported: {}", req.field), 400);
    }
    sel.requirements_.push_back(std::move(req));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return sel;
}

std::map<std::string, std::string> object_labels(const nlohmann::json& object) {
  std::map<std::string, std::string> out;
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return out;
  auto labels = meta->find("labels");
  if (labels == meta->end() || !labels->is_object()) return out;
  for (const auto& [k, v] : labels->items()) {
    if (v.is_string()) out.emplace(k, v.get<std::string>());
  }
  return out;
}

bool FieldSelector::matches(const nlohmann::json& object) const {
  for (const auto& r : requirements_) {
    if ((field_value(object, r.field) == r.value) != r.equals) return false;
  }
  return true;
}

}  // namespace berth::kubesim
