#include "kube-sim/served_resource.h"

#include <algorithm>

namespace berth::kubesim {
namespace {

// The generic kinds' URL parts, as kube-apiserver serves them.
constexpr kube::ResourceType kServiceAccounts{"", "v1", "serviceaccounts", "ServiceAccount", true};
constexpr kube::ResourceType kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};
constexpr kube::ResourceType kClusterRoles{"rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false};
constexpr kube::ResourceType kClusterRoleBindings{"rbac.authorization.k8s.io", "v1", "clusterrolebindings",
                                                  "ClusterRoleBinding", false};
constexpr kube::ResourceType kRoles{"rbac.authorization.k8s.io", "v1", "roles", "Role", true};
constexpr kube::ResourceType kRoleBindings{"rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true};
constexpr kube::ResourceType kDaemonSets{"apps", "v1", "daemonsets", "DaemonSet", true};
constexpr kube::ResourceType kDeployments{"apps", "v1", "deployments", "Deployment", true};

constexpr std::string_view kPodTemplateSpec = "spec.template.spec";

std::vector<ServedResource> make_table() {
  using enum NameRule;
  return {
      {.type = kube::kNamespaces, .short_names = {"ns"}, .name_rule = kDns1123Label, .status_subresource = true},
      {.type = kube::kServices,
       .short_names = {"svc"},
       .categories = {"all"},
       .name_rule = kDns1035Label,
       .status_subresource = true},
      {.type = kube::kEvents, .short_names = {"ev"}, .create_on_update = true},
      {.type = kube::kEndpointSlices},
      {.type = kube::kLeases, .create_on_update = true},
      {.type = kServiceAccounts, .short_names = {"sa"}, .generic = true},
      {.type = kConfigMaps, .short_names = {"cm"}, .generic = true},
      {.type = kClusterRoles, .name_rule = kPathSegment, .generic = true},
      {.type = kClusterRoleBindings, .name_rule = kPathSegment, .generic = true},
      {.type = kRoles, .name_rule = kPathSegment, .generic = true},
      {.type = kRoleBindings, .name_rule = kPathSegment, .generic = true},
      {.type = kDaemonSets,
       .short_names = {"ds"},
       .categories = {"all"},
       .status_subresource = true,
       .generic = true,
       .pod_spec_path = kPodTemplateSpec},
      {.type = kDeployments,
       .short_names = {"deploy"},
       .categories = {"all"},
       .status_subresource = true,
       .generic = true,
       .pod_spec_path = kPodTemplateSpec},
  };
}

bool same_resource(const kube::ResourceType& a, const kube::ResourceType& b) {
  return a.group == b.group && a.version == b.version && a.plural == b.plural;
}

}  // namespace

const std::vector<ServedResource>& served_resource_table() {
  static const std::vector<ServedResource> kTable = make_table();
  return kTable;
}

const std::vector<kube::ResourceType>& served_resources() {
  static const std::vector<kube::ResourceType> kTypes = [] {
    std::vector<kube::ResourceType> types;
    for (const auto& row : served_resource_table()) types.push_back(row.type);
    return types;
  }();
  return kTypes;
}

const kube::ResourceType* find_resource(std::string_view group, std::string_view version, std::string_view plural) {
  const ServedResource* row = served_resource(kube::ResourceType{group, version, plural, ""});
  return row != nullptr ? &row->type : nullptr;
}

const ServedResource* served_resource(const kube::ResourceType& type) {
  const auto& table = served_resource_table();
  auto it = std::find_if(table.begin(), table.end(), [&](const ServedResource& r) { return same_resource(r.type, type); });
  return it == table.end() ? nullptr : &*it;
}

const ServedResource* served_resource_of_kind(std::string_view kind) {
  const auto& table = served_resource_table();
  auto it = std::find_if(table.begin(), table.end(), [&](const ServedResource& r) { return r.type.kind == kind; });
  return it == table.end() ? nullptr : &*it;
}

}  // namespace berth::kubesim
