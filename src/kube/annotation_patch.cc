#include "kube/annotation_patch.h"

namespace berth::kube {

nlohmann::json annotation_patch_body(std::string_view resource_version, const AnnotationChanges& changes) {
  nlohmann::json annotations = nlohmann::json::object();
  for (const auto& [key, value] : changes) {
    if (value) {
      annotations[key] = *value;
    } else {
      annotations[key] = nullptr;
    }
  }
  nlohmann::json metadata = {{"annotations", annotations}};
  if (!resource_version.empty()) metadata["resourceVersion"] = resource_version;
  return {{"metadata", metadata}};
}

Result<nlohmann::json> patch_annotations(ApiClient& client, std::string_view ns, std::string_view name,
                                         std::string_view resource_version, const AnnotationChanges& changes,
                                         const ResourceType& type) {
  return client.patch(type, ns, name, PatchType::kMerge, annotation_patch_body(resource_version, changes));
}

}  // namespace berth::kube
