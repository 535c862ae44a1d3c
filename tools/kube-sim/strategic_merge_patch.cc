#include "kube-sim/strategic_merge_patch.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "kube-sim/served_resource.h"

namespace berth::kubesim {
namespace {

using nlohmann::json;

constexpr std::string_view kPatch = "$patch";
constexpr std::string_view kRetainKeys = "$retainKeys";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";

// How a list field is patched: the patchStrategy/patchMergeKey tags of the Kubernetes types.
struct ListStrategy {
  enum class Kind { kReplace, kMergeByKey, kMergePrimitive } kind = Kind::kReplace;
  std::string key;
};

// A list Kubernetes declares with a patch merge key: the kind it belongs to ("" for every kind),
// its path, and the key.
struct MergeKey {
  std::string_view kind;
  std::string_view path;
  std::string_view key;
};

constexpr MergeKey kMergeKeys[] = {
    {"", "metadata.ownerReferences", "uid"},
    {"Service", "spec.ports", "port"},
    {"Service", "status.conditions", "type"},
    {"Namespace", "status.conditions", "type"},
    {"ServiceAccount", "secrets", "name"},
    {"ServiceAccount", "imagePullSecrets", "name"},
};

// The lists of a PodSpec with a merge key (k8s.io/api/core/v1 types.go), relative to the pod
// spec of a kind with a pod template (ServedResource::pod_spec_path); "<containers>." stands for
// each of containers, initContainers and ephemeralContainers.
constexpr std::pair<std::string_view, std::string_view> kPodSpecMergeKeys[] = {
    {"containers", "name"},
    {"initContainers", "name"},
    {"ephemeralContainers", "name"},
    {"volumes", "name"},
    {"imagePullSecrets", "name"},
    {"hostAliases", "ip"},
    {"topologySpreadConstraints", "topologyKey"},
    {"resourceClaims", "name"},
    {"schedulingGates", "name"},
    {"<containers>.ports", "containerPort"},
    {"<containers>.env", "name"},
    {"<containers>.volumeMounts", "mountPath"},
    {"<containers>.volumeDevices", "devicePath"},
};

std::optional<std::string_view> pod_spec_merge_key(std::string_view relative) {
  constexpr std::string_view kAnyContainers = "<containers>.";
  for (const auto& [path, key] : kPodSpecMergeKeys) {
    if (path == relative) return key;
    if (!path.starts_with(kAnyContainers)) continue;
    const std::string_view field = path.substr(kAnyContainers.size());
    for (std::string_view containers : {"containers.", "initContainers.", "ephemeralContainers."}) {
      if (relative.size() == containers.size() + field.size() && relative.starts_with(containers) &&
          relative.ends_with(field)) {
        return key;
      }
    }
  }
  return std::nullopt;
}

ListStrategy list_strategy(std::string_view kind, std::string_view path) {
  using K = ListStrategy::Kind;
  if (path == "metadata.finalizers") return {K::kMergePrimitive, ""};
  for (const auto& m : kMergeKeys) {
    if ((m.kind.empty() || m.kind == kind) && m.path == path) return {K::kMergeByKey, std::string(m.key)};
  }
  const ServedResource* row = served_resource_of_kind(kind);
  if (row != nullptr && !row->pod_spec_path.empty() && path.size() > row->pod_spec_path.size() + 1 &&
      path.starts_with(row->pod_spec_path) && path[row->pod_spec_path.size()] == '.') {
    if (auto key = pod_spec_merge_key(path.substr(row->pod_spec_path.size() + 1))) {
      return {K::kMergeByKey, std::string(*key)};
    }
  }
  return {};
}

std::unexpected<Error> bad(std::string message) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message), 400);
}

bool is_directive(std::string_view key) { return !key.empty() && key.front() == '$'; }

class Patcher {
 public:
  explicit Patcher(std::string_view kind) : kind_(kind) {}

  // nullopt: the map is to be removed ({"$patch": "delete"}).
  Result<std::optional<json>> merge_map(const json& original, const json& patch, const std::string& path) {
    if (auto d = patch.find(kPatch); d != patch.end()) {
      if (*d == "delete") return std::optional<json>();
      if (*d == "replace") {
        json out = patch;
        out.erase(std::string(kPatch));
        return std::optional<json>(std::move(out));
      }
      if (*d != "merge") return bad(fmt::format("unknown patch type: {} in map at \"{}\"", d->dump(), path));
    }
    json result = original.is_object() ? original : json::object();

    if (auto r = patch.find(kRetainKeys); r != patch.end()) {
      if (!r->is_array()) return bad(fmt::format("$retainKeys at \"{}\" must be a list of strings", path));
      std::vector<std::string> keep;
      for (const auto& k : *r) {
        if (!k.is_string()) return bad(fmt::format("$retainKeys at \"{}\" must be a list of strings", path));
        keep.push_back(k.get<std::string>());
      }
      for (auto it = result.begin(); it != result.end();) {
        if (std::find(keep.begin(), keep.end(), it.key()) == keep.end()) {
          it = result.erase(it);
        } else {
          ++it;
        }
      }
    }

    for (const auto& [key, values] : patch.items()) {
      if (!key.starts_with(kDeleteFromPrimitiveList)) continue;
      std::string field = key.substr(kDeleteFromPrimitiveList.size());
      if (!values.is_array()) return bad(fmt::format("{} at \"{}\" must be a list", key, path));
      auto it = result.find(field);
      if (it == result.end() || !it->is_array()) continue;
      json kept = json::array();
      for (const auto& v : *it) {
        if (std::find(values.begin(), values.end(), v) == values.end()) kept.push_back(v);
      }
      *it = std::move(kept);
    }

    for (const auto& [key, value] : patch.items()) {
      if (is_directive(key)) continue;
      std::string sub = path.empty() ? key : path + "." + key;
      if (value.is_null()) {
        result.erase(key);
      } else if (value.is_object()) {
        auto cur = result.find(key);
        auto merged = merge_map(cur != result.end() ? *cur : json::object(), value, sub);
        if (!merged) return std::unexpected(merged.error());
        if (*merged) {
          result[key] = std::move(**merged);
        } else {
          result.erase(key);
        }
      } else if (value.is_array()) {
        auto cur = result.find(key);
        json current = cur != result.end() && cur->is_array() ? *cur : json::array();
        auto merged = merge_list(current, value, sub);
        if (!merged) return std::unexpected(merged.error());
        result[key] = std::move(*merged);
      } else {
        result[key] = value;
      }
    }

    for (const auto& [key, order] : patch.items()) {
      if (!key.starts_with(kSetElementOrder)) continue;
      std::string field = key.substr(kSetElementOrder.size());
      if (!order.is_array()) return bad(fmt::format("{} at \"{}\" must be a list", key, path));
      auto it = result.find(field);
      if (it == result.end() || !it->is_array()) continue;
      *it = reorder(*it, order, list_strategy(kind_, path.empty() ? field : path + "." + field));
    }
    return std::optional<json>(std::move(result));
  }

 private:
  Result<json> merge_list(const json& original, const json& patch, const std::string& path) {
    ListStrategy strategy = list_strategy(kind_, path);
    switch (strategy.kind) {
      case ListStrategy::Kind::kReplace:
        return strip(patch);
      case ListStrategy::Kind::kMergePrimitive: {
        json result = original;
        for (const auto& v : patch) {
          if (v.is_object()) {
            if (v.value(std::string(kPatch), "") == "replace") return strip_replace_marker(patch);
            return bad(fmt::format("list at \"{}\" holds scalars, not maps", path));
          }
          if (std::find(result.begin(), result.end(), v) == result.end()) result.push_back(v);
        }
        return result;
      }
      case ListStrategy::Kind::kMergeByKey:
        break;
    }
    for (const auto& e : patch) {
      if (e.is_object() && e.value(std::string(kPatch), "") == "replace") return strip_replace_marker(patch);
    }
    json result = original;
    for (const auto& e : patch) {
      if (!e.is_object()) return bad(fmt::format("list at \"{}\" must hold maps with the merge key \"{}\"", path, strategy.key));
      auto k = e.find(strategy.key);
      if (k == e.end()) {
        return bad(fmt::format("map: {} does not contain declared merge key: {}", e.dump(), strategy.key));
      }
      auto same = [&](const json& x) { return x.is_object() && x.contains(strategy.key) && x.at(strategy.key) == *k; };
      if (e.value(std::string(kPatch), "") == "delete") {
        json kept = json::array();
        for (const auto& x : result) {
          if (!same(x)) kept.push_back(x);
        }
        result = std::move(kept);
        continue;
      }
      auto found = std::find_if(result.begin(), result.end(), same);
      auto merged = merge_map(found != result.end() ? *found : json::object(), e, path);
      if (!merged) return std::unexpected(merged.error());
      if (!*merged) continue;
      if (found != result.end()) {
        *found = std::move(**merged);
      } else {
        result.push_back(std::move(**merged));
      }
    }
    return result;
  }

  // A list element {"$patch": "replace"} means: the list is exactly the other elements.
  Result<json> strip_replace_marker(const json& patch) {
    json out = json::array();
    for (const auto& e : patch) {
      if (e.is_object() && e.contains(std::string(kPatch))) continue;
      out.push_back(e);
    }
    return strip(out);
  }

  // A replaced value carries no directives into the stored object.
  static json strip(const json& v) {
    if (v.is_object()) {
      json out = json::object();
      for (const auto& [k, x] : v.items()) {
        if (!is_directive(k)) out[k] = strip(x);
      }
      return out;
    }
    if (v.is_array()) {
      json out = json::array();
      for (const auto& x : v) out.push_back(strip(x));
      return out;
    }
    return v;
  }

  // Elements named in `order` first, in that order; the others after them in their order.
  static json reorder(const json& list, const json& order, const ListStrategy& strategy) {
    auto id = [&](const json& e) -> json {
      if (strategy.kind == ListStrategy::Kind::kMergeByKey) {
        return e.is_object() && e.contains(strategy.key) ? e.at(strategy.key) : json();
      }
      return e;
    };
    json ordered = json::array();
    std::vector<bool> used(list.size(), false);
    for (const auto& o : order) {
      json want = id(o);
      if (want.is_null()) continue;
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (!used[i] && id(list[i]) == want) {
          ordered.push_back(list[i]);
          used[i] = true;
          break;
        }
      }
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
      if (!used[i]) ordered.push_back(list[i]);
    }
    return ordered;
  }

  std::string_view kind_;
};

}  // namespace

Result<json> strategic_merge_patch(std::string_view kind, const json& original, const json& patch) {
  if (!patch.is_object()) return bad("a strategic merge patch must be a JSON object");
  auto r = Patcher(kind).merge_map(original, patch, "");
  if (!r) return std::unexpected(r.error());
  if (!*r) return bad("a strategic merge patch cannot delete the whole object");
  return std::move(**r);
}

}  // namespace berth::kubesim
