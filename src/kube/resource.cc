#include "kube/resource.h"

#include <fmt/format.h>

namespace berth::kube {

std::string ResourceType::group_version_path() const {
  if (group.empty()) return fmt::format("/api/{}", version);
  return fmt::format("/apis/{}/{}", group, version);
}

std::string ResourceType::api_version() const {
  if (group.empty()) return std::string(version);
  return fmt::format("{}/{}", group, version);
}

std::string ResourceType::collection_path(std::string_view ns) const {
  if (!namespaced || ns.empty()) return fmt::format("{}/{}", group_version_path(), plural);
  return fmt::format("{}/namespaces/{}/{}", group_version_path(), ns, plural);
}

std::string ResourceType::object_path(std::string_view ns, std::string_view name) const {
  return fmt::format("{}/{}", collection_path(ns), name);
}

}  // namespace berth::kube
