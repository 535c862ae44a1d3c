// Kubernetes label selectors in their string form (the `labelSelector` query parameter):
//   "app=db,tier!=cache,env in (prod,stage),owner notin (x),managed,!legacy"
// Operators: `=`, `==`, `!=`, `in`, `notin`, exists (bare key), does-not-exist (`!key`).
// Requirements are ANDed. Keys follow the label-key rules (optional DNS-1123 prefix + "/" +
// name of at most 63 characters); values are at most 63 characters of [A-Za-z0-9._-],
// beginning and ending alphanumeric (or empty).
//
// Thread-safety: immutable after parse; safe to share.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace berth::kube {

class LabelSelector {
 public:
  enum class Operator { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };
  struct Requirement {
    std::string key;
    Operator op = Operator::kExists;
    std::vector<std::string> values;  // sorted; one value for kEquals/kNotEquals
  };

  // The empty selector matches everything.
  LabelSelector() = default;

  // kInvalidArgument with a message naming the offending part for malformed input.
  static Result<LabelSelector> parse(std::string_view text);

  bool matches(const std::map<std::string, std::string>& labels) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }

  // Canonical string form (parse(to_string()) is equivalent).
  std::string to_string() const;

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace berth::kube
