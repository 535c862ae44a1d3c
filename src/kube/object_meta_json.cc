#include "kube/object_meta_json.h"

namespace berth::kube {

nlohmann::json to_json(const ObjectMeta& meta) {
  nlohmann::json m = nlohmann::json::object();
  if (!meta.name.empty()) m["name"] = meta.name;
  if (!meta.namespace_.empty()) m["namespace"] = meta.namespace_;
  if (!meta.uid.empty()) m["uid"] = meta.uid;
  if (!meta.resource_version.empty()) m["resourceVersion"] = meta.resource_version;
  if (!meta.labels.empty()) m["labels"] = meta.labels;
  if (!meta.annotations.empty()) m["annotations"] = meta.annotations;
  return m;
}

}  // namespace berth::kube
