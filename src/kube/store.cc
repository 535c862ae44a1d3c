#include "kube/store.h"

#include <set>

namespace berth::kube {

std::vector<std::string> StoreDiff::all() const {
  std::set<std::string> keys(added.begin(), added.end());
  keys.insert(changed.begin(), changed.end());
  keys.insert(removed.begin(), removed.end());
  return {keys.begin(), keys.end()};
}

}  // namespace berth::kube
