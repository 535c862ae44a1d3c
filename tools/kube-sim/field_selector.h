// Field selectors (the `fieldSelector` query parameter) as kube-sim supports them:
//   "metadata.name=a,metadata.namespace!=kube-system"
// Fields: metadata.name and metadata.namespace; operators `=`, `==`, `!=`; requirements ANDed.
// Any other field is rejected as kube-apiserver does for fields a resource does not index
// (400: `field label not supported: spec.x`).
//
// Thread-safety: immutable after parse.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace berth::kubesim {

class FieldSelector {
 public:
  struct Requirement {
    std::string field;
    bool equals = true;  // false for !=
    std::string value;
  };

  FieldSelector() = default;

  // kInvalidArgument (http_status 400) for malformed input or an unsupported field.
  static Result<FieldSelector> parse(std::string_view text);

  bool matches(const nlohmann::json& object) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }

 private:
  std::vector<Requirement> requirements_;
};

// metadata.labels of an object as a map (non-string values are skipped), for LabelSelector.
std::map<std::string, std::string> object_labels(const nlohmann::json& object);

}  // namespace berth::kubesim
