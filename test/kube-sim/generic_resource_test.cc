// The generic kinds of kube-sim's resource table (served_resource.h): ServiceAccount, ConfigMap,
// the RBAC kinds, DaemonSet, Deployment. Discovery and OpenAPI list them with their scope, the
// store keeps them as sent with the usual API semantics (names, namespaces, resourceVersions,
// status, watches, state file), and strategic merge patches merge a pod template's lists by key.
#include <algorithm>
#include <chrono>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kube-sim/api_server.h"
#include "kube-sim/discovery.h"
#include "kube-sim/object_store.h"
#include "kube-sim/served_resource.h"
#include "kube-sim/strategic_merge_patch.h"
#include "kube-sim/table_printer.h"
#include "kube/micro_time.h"

namespace berth::kubesim {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const kube::ResourceType& served(std::string_view group, std::string_view plural) {
  const kube::ResourceType* type = find_resource(group, "v1", plural);
  EXPECT_NE(type, nullptr) << group << "/" << plural << " is not served";
  static const kube::ResourceType kMissing{"missing.example", "v1", "missing", "Missing", true};
  return type != nullptr ? *type : kMissing;
}

// What `kubectl kustomize deploy/` renders for the DaemonSet, cut down to the fields the
// patches below touch.
json generic_daemon_set() {
  return json::parse(R"({
    "apiVersion": "apps/v1", "kind": "DaemonSet",
    "metadata": {"name": "berth", "labels": {"app.kubernetes.io/name": "berth"}},
    "spec": {
      "selector": {"matchLabels": {"app.kubernetes.io/name": "berth"}},
      "updateStrategy": {"type": "OnDelete"},
      "template": {
        "metadata": {"labels": {"app.kubernetes.io/name": "berth"}},
        "spec": {
          "hostNetwork": true,
          "containers": [
            {"name": "haproxy", "image": "berth:0.1.0", "command": ["/usr/local/bin/haproxy-entrypoint"],
             "env": [{"name": "HAPROXY_NOFILE", "value": "262144"}],
             "volumeMounts": [{"name": "haproxy-run", "mountPath": "/run/berth"}]},
            {"name": "berth", "image": "berth:0.1.0", "args": ["--leader-elect"],
             "ports": [{"name": "metrics", "containerPort": 9910}]}
          ],
          "volumes": [{"name": "haproxy-run", "emptyDir": {}}]
        }
      }
    }
  })");
}

TEST(GenericResources, TheTableHasOneRowPerKindAndResource) {
  std::set<std::string> kinds, resources;
  for (const auto& row : served_resource_table()) {
    EXPECT_TRUE(kinds.insert(std::string(row.type.kind)).second) << row.type.kind;
    EXPECT_TRUE(resources.insert(std::string(row.type.group) + "/" + std::string(row.type.plural)).second);
    EXPECT_EQ(served_resource(row.type), &row);
    EXPECT_EQ(served_resource_of_kind(row.type.kind), &row);
  }
  for (std::string_view kind : {"ServiceAccount", "ConfigMap", "ClusterRole", "ClusterRoleBinding", "Role",
                                "RoleBinding", "DaemonSet", "Deployment"}) {
    const ServedResource* row = served_resource_of_kind(kind);
    ASSERT_NE(row, nullptr) << kind;
    EXPECT_TRUE(row->generic) << kind;
  }
  EXPECT_FALSE(served_resource_of_kind("Service")->generic);
  EXPECT_EQ(served_resource_of_kind("Secret"), nullptr);
}

TEST(GenericResources, DiscoveryListsThemWithTheirScopeAndShortNames) {
  auto find_entry = [](const std::optional<json>& list, std::string_view plural) -> json {
    if (!list) return nullptr;
    for (const auto& r : (*list)["resources"]) {
      if (r["name"] == plural) return r;
    }
    return nullptr;
  };
  auto core = api_resource_list_document("", "v1");
  auto rbac = api_resource_list_document("rbac.authorization.k8s.io", "v1");
  auto apps = api_resource_list_document("apps", "v1");
  ASSERT_TRUE(core && rbac && apps);
  EXPECT_EQ(find_entry(core, "serviceaccounts")["namespaced"], true);
  EXPECT_EQ(find_entry(core, "serviceaccounts")["shortNames"], json({"sa"}));
  EXPECT_EQ(find_entry(core, "configmaps")["kind"], "ConfigMap");
  EXPECT_EQ(find_entry(rbac, "clusterroles")["namespaced"], false);
  EXPECT_EQ(find_entry(rbac, "clusterrolebindings")["singularName"], "clusterrolebinding");
  EXPECT_EQ(find_entry(rbac, "roles")["namespaced"], true);
  EXPECT_EQ(find_entry(rbac, "rolebindings")["namespaced"], true);
  EXPECT_FALSE(find_entry(rbac, "clusterroles").contains("shortNames"));
  EXPECT_EQ(find_entry(apps, "daemonsets")["shortNames"], json({"ds"}));
  EXPECT_EQ(find_entry(apps, "daemonsets")["categories"], json({"all"}));
  EXPECT_EQ(find_entry(apps, "deployments")["verbs"],
            json({"create", "delete", "get", "list", "patch", "update", "watch"}));

  std::set<std::string> groups;
  const json group_list = api_group_list_document();
  for (const auto& g : group_list["groups"]) groups.insert(g["name"].get<std::string>());
  EXPECT_TRUE(groups.contains("apps"));
  EXPECT_TRUE(groups.contains("rbac.authorization.k8s.io"));
}

// kubectl --validate=strict looks for a PATCH operation with the group-version-kind of every
// object it sends; without one, `kubectl apply` fails with "failed to download openapi".
TEST(GenericResources, OpenApiDeclaresAPatchOperationForEveryServedKind) {
  const json root = openapi_v3_root_document();
  std::set<std::string> hashes;
  for (const auto& row : served_resource_table()) {
    const auto& t = row.type;
    const std::string key = t.group.empty() ? "api/v1" : "apis/" + std::string(t.group) + "/" + std::string(t.version);
    ASSERT_TRUE(root["paths"].contains(key)) << key;
    hashes.insert(root["paths"][key]["serverRelativeURL"].get<std::string>());
    auto doc = openapi_v3_group_version_document(t.group, t.version);
    ASSERT_TRUE(doc) << key;
    const std::string path = t.group_version_path() + (t.namespaced ? "/namespaces/{namespace}/" : "/") +
                             std::string(t.plural) + "/{name}";
    ASSERT_TRUE((*doc)["paths"].contains(path)) << path;
    EXPECT_EQ((*doc)["paths"][path]["patch"]["x-kubernetes-group-version-kind"]["kind"], t.kind);
  }
  // Each document has a URL (hash) of its own: core, discovery, coordination, rbac, apps.
  EXPECT_EQ(hashes.size(), 5u);
}

TEST(GenericResources, UrlsFollowTheScope) {
  auto cluster = parse_resource_path("/apis/rbac.authorization.k8s.io/v1/clusterroles/berth");
  ASSERT_TRUE(cluster);
  EXPECT_EQ(cluster->type->kind, "ClusterRole");
  EXPECT_EQ(cluster->name, "berth");
  EXPECT_FALSE(parse_resource_path("/apis/rbac.authorization.k8s.io/v1/namespaces/x/clusterroles/berth"));
  EXPECT_FALSE(parse_resource_path("/apis/apps/v1/daemonsets/berth"));  // namespaced: no name without one
  auto all = parse_resource_path("/apis/apps/v1/daemonsets");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->ns, "");
  auto ds = parse_resource_path("/apis/apps/v1/namespaces/berth-system/daemonsets/berth");
  ASSERT_TRUE(ds);
  EXPECT_EQ(ds->type->kind, "DaemonSet");
  EXPECT_EQ(ds->ns, "berth-system");
  EXPECT_FALSE(parse_resource_path("/apis/apps/v1/namespaces/berth-system/daemonsets/berth/status"));
}

TEST(GenericResources, StoredAsSentWithServerFieldsAndNoDefaults) {
  ObjectStore store;
  json sent = generic_daemon_set();
  auto created = store.create(served("apps", "daemonsets"), "default", sent);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_FALSE((*created)["metadata"]["uid"].get<std::string>().empty());
  EXPECT_FALSE((*created)["metadata"]["resourceVersion"].get<std::string>().empty());
  EXPECT_EQ((*created)["metadata"]["namespace"], "default");
  // Everything else exactly as sent: no defaults (kube-apiserver would add dozens).
  json without_server_fields = *created;
  for (const char* field : {"uid", "resourceVersion", "creationTimestamp", "namespace"}) {
    without_server_fields["metadata"].erase(field);
  }
  EXPECT_EQ(without_server_fields, sent);
  auto got = store.get(served("apps", "daemonsets"), "default", "berth");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, *created);

  auto cm = store.create(served("", "configmaps"), "default",
                         json{{"metadata", {{"name", "keepalived"}}}, {"data", {{"keepalived.conf", "global_defs {}\n"}}}});
  ASSERT_TRUE(cm) << cm.error().message;
  EXPECT_EQ((*cm)["data"]["keepalived.conf"], "global_defs {}\n");
}

TEST(GenericResources, NamesFollowTheKindsRule) {
  ObjectStore store;
  const auto& cluster_roles = served("rbac.authorization.k8s.io", "clusterroles");
  // RBAC names are path segments: kube-apiserver's own roles are called "system:...".
  EXPECT_TRUE(store.create(cluster_roles, "", json{{"metadata", {{"name", "system:berth"}}}, {"rules", json::array()}}));
  auto slash = store.create(cluster_roles, "", json{{"metadata", {{"name", "a/b"}}}});
  ASSERT_FALSE(slash);
  EXPECT_EQ(slash.error().http_status, 422);
  EXPECT_NE(slash.error().message.find("ClusterRole \"a/b\" is invalid: metadata.name"), std::string::npos)
      << slash.error().message;
  EXPECT_FALSE(store.create(cluster_roles, "", json{{"metadata", {{"name", ".."}}}}));
  // Everything else is a DNS-1123 subdomain.
  auto upper = store.create(served("", "serviceaccounts"), "default", json{{"metadata", {{"name", "Berth"}}}});
  ASSERT_FALSE(upper);
  EXPECT_EQ(upper.error().http_status, 422);
  EXPECT_FALSE(store.create(served("", "configmaps"), "default", json{{"metadata", {{"name", "system:x"}}}}));
  // Labels are checked as on every object.
  auto label = store.create(served("", "configmaps"), "default",
                            json{{"metadata", {{"name", "x"}, {"labels", {{"bad key!", "v"}}}}}});
  ASSERT_FALSE(label);
  EXPECT_EQ(label.error().http_status, 422);
}

TEST(GenericResources, ScopeNamespacesAndConflicts) {
  ObjectStore store;
  const auto& roles = served("rbac.authorization.k8s.io", "roles");
  const auto& cluster_roles = served("rbac.authorization.k8s.io", "clusterroles");
  auto missing_ns = store.create(roles, "berth-system", json{{"metadata", {{"name", "berth-leases"}}}});
  ASSERT_FALSE(missing_ns);
  EXPECT_EQ(missing_ns.error().http_status, 404);

  ASSERT_TRUE(store.create(kube::kNamespaces, "", json{{"metadata", {{"name", "berth-system"}}}}));
  auto role = store.create(roles, "berth-system", json{{"metadata", {{"name", "berth-leases"}}}, {"rules", json::array()}});
  ASSERT_TRUE(role) << role.error().message;
  auto again = store.create(roles, "berth-system", json{{"metadata", {{"name", "berth-leases"}}}});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  // A cluster-scoped object has no namespace, whatever the body says.
  auto cluster_role = store.create(cluster_roles, "", json{{"metadata", {{"name", "berth"}}}, {"rules", json::array()}});
  ASSERT_TRUE(cluster_role) << cluster_role.error().message;
  EXPECT_FALSE((*cluster_role)["metadata"].contains("namespace"));

  // PUT with a stale resourceVersion is a conflict; with the current one it writes.
  json stale = *role;
  json fresh = *role;
  fresh["rules"] = json::parse(R"([{"apiGroups":["coordination.k8s.io"],"resources":["leases"],"verbs":["create"]}])");
  auto updated = store.update(roles, "berth-system", "berth-leases", fresh);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_NE((*updated)["metadata"]["resourceVersion"], (*role)["metadata"]["resourceVersion"]);
  stale["rules"] = json::array();
  auto conflict = store.update(roles, "berth-system", "berth-leases", stale);
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().http_status, 409);
  // A PUT of a missing generic object is 404 (only Leases and Events are created by PUT).
  EXPECT_EQ(store.update(roles, "berth-system", "nope", json{{"metadata", {{"name", "nope"}}}}).error().http_status, 404);

  auto listed = store.list(roles, ListRequest{});
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->items.size(), 1u);

  // Deleting the namespace deletes what is in it, not the cluster-scoped objects.
  ASSERT_TRUE(store.create(served("", "serviceaccounts"), "berth-system", json{{"metadata", {{"name", "berth"}}}}));
  ASSERT_TRUE(store.remove(kube::kNamespaces, "", "berth-system"));
  EXPECT_EQ(store.get(roles, "berth-system", "berth-leases").error().http_status, 404);
  EXPECT_EQ(store.get(served("", "serviceaccounts"), "berth-system", "berth").error().http_status, 404);
  EXPECT_TRUE(store.get(cluster_roles, "", "berth"));
}

TEST(GenericResources, AWorkloadKeepsItsStatusOnWritesToTheObject) {
  ObjectStore store;
  const auto& daemon_sets = served("apps", "daemonsets");
  json with_status = generic_daemon_set();
  with_status["status"] = {{"desiredNumberScheduled", 3}};
  ASSERT_TRUE(store.create(daemon_sets, "default", with_status));
  // As the status subresource would: a controller's status survives a write of the spec.
  json next = generic_daemon_set();
  next["status"] = {{"desiredNumberScheduled", 0}};
  next["metadata"]["labels"]["tier"] = "lb";
  auto updated = store.update(daemon_sets, "default", "berth", next);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ((*updated)["status"]["desiredNumberScheduled"], 3);
  EXPECT_EQ((*updated)["metadata"]["labels"]["tier"], "lb");
}

TEST(GenericResources, WatchesAndTheStateFileCoverThem) {
  ObjectStore store;
  const auto& config_maps = served("", "configmaps");
  auto watch = store.watch(config_maps, WatchRequest{.ns = "default"});
  ASSERT_TRUE(watch) << watch.error().message;
  ASSERT_TRUE(store.create(config_maps, "default", json{{"metadata", {{"name", "a"}}}, {"data", {{"k", "v"}}}}));
  ASSERT_TRUE(store.patch(config_maps, "default", "a", kube::PatchType::kMerge, json{{"data", {{"k", "w"}}}}));
  ASSERT_TRUE(store.remove(config_maps, "default", "a"));
  std::vector<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    auto event = (*watch)->next(5s);
    ASSERT_TRUE(event) << "event " << i;
    EXPECT_EQ(event->object["kind"], "ConfigMap");
    seen.push_back(std::to_string(static_cast<int>(event->type)) + ":" + event->object["data"]["k"].get<std::string>());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{std::to_string(static_cast<int>(kube::WatchEventType::kAdded)) + ":v",
                                            std::to_string(static_cast<int>(kube::WatchEventType::kModified)) + ":w",
                                            std::to_string(static_cast<int>(kube::WatchEventType::kDeleted)) + ":w"}));

  ASSERT_TRUE(store.create(served("rbac.authorization.k8s.io", "clusterrolebindings"), "",
                           json{{"metadata", {{"name", "berth"}}}, {"roleRef", {{"kind", "ClusterRole"}, {"name", "berth"}}}}));
  ObjectStore restored;
  ASSERT_TRUE(restored.restore(json::parse(store.snapshot().dump())));
  auto binding = restored.get(served("rbac.authorization.k8s.io", "clusterrolebindings"), "", "berth");
  ASSERT_TRUE(binding) << binding.error().message;
  EXPECT_EQ((*binding)["roleRef"]["name"], "berth");
}

// What `kubectl apply` sends the second time, when the berth container's image changed: the
// containers list merges by name, so haproxy and berth's other fields stay.
TEST(GenericResources, ApplyPatchesMergeAPodTemplatesListsByKey) {
  const json original = generic_daemon_set();
  const json patch = json::parse(R"({"spec":{"template":{"spec":{
      "$setElementOrder/containers":[{"name":"haproxy"},{"name":"berth"}],
      "containers":[{"name":"berth","image":"berth:0.2.0"},
                    {"name":"haproxy","env":[{"name":"EXTRA","value":"1"}],
                     "$setElementOrder/env":[{"name":"HAPROXY_NOFILE"},{"name":"EXTRA"}]}]}}}})");
  auto patched = strategic_merge_patch("DaemonSet", original, patch);
  ASSERT_TRUE(patched) << patched.error().message;
  const json& containers = (*patched)["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u) << containers.dump();
  EXPECT_EQ(containers[0]["name"], "haproxy");
  EXPECT_EQ(containers[0]["image"], "berth:0.1.0");
  EXPECT_EQ(containers[0]["command"], original["spec"]["template"]["spec"]["containers"][0]["command"]);
  EXPECT_EQ(containers[0]["env"], json::parse(R"([{"name":"HAPROXY_NOFILE","value":"262144"},{"name":"EXTRA","value":"1"}])"));
  EXPECT_EQ(containers[1]["name"], "berth");
  EXPECT_EQ(containers[1]["image"], "berth:0.2.0");
  EXPECT_EQ(containers[1]["args"], json({"--leader-elect"}));

  // A volume and a container port removed by name and by containerPort.
  const json removal = json::parse(R"({"spec":{"template":{"spec":{
      "volumes":[{"$patch":"delete","name":"haproxy-run"}],
      "containers":[{"name":"berth","ports":[{"$patch":"delete","containerPort":9910}]}]}}}})");
  auto removed = strategic_merge_patch("DaemonSet", original, removal);
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ((*removed)["spec"]["template"]["spec"]["volumes"], json::array());
  EXPECT_EQ((*removed)["spec"]["template"]["spec"]["containers"][1]["ports"], json::array());
  EXPECT_EQ((*removed)["spec"]["template"]["spec"]["containers"][0]["volumeMounts"].size(), 1u);

  // The same lists elsewhere in the object, and RBAC rules, are replaced: Kubernetes declares
  // them atomic.
  const json role = json::parse(R"({"metadata":{"name":"r"},"rules":[{"verbs":["get"]},{"verbs":["list"]}]})");
  auto rules = strategic_merge_patch("Role", role, json::parse(R"({"rules":[{"verbs":["watch"]}]})"));
  ASSERT_TRUE(rules);
  EXPECT_EQ((*rules)["rules"], json::parse(R"([{"verbs":["watch"]}])"));
  auto elsewhere = strategic_merge_patch("ConfigMap", json::parse(R"({"spec":{"template":{"spec":{"containers":[{"name":"a"}]}}}})"),
                                         json::parse(R"({"spec":{"template":{"spec":{"containers":[{"name":"b"}]}}}})"));
  ASSERT_TRUE(elsewhere);
  EXPECT_EQ((*elsewhere)["spec"]["template"]["spec"]["containers"], json::parse(R"([{"name":"b"}])"));
}

TEST(GenericResources, TablesHaveNameAndAge) {
  const json config_map = {{"metadata", {{"name", "keepalived"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}}};
  const auto now = *kube::parse_time("2026-01-01T00:05:00Z");
  json table = make_table(served("", "configmaps"), {config_map}, now);
  ASSERT_EQ(table["columnDefinitions"].size(), 2u);
  EXPECT_EQ(table["columnDefinitions"][0]["name"], "Name");
  EXPECT_EQ(table["columnDefinitions"][1]["name"], "Age");
  EXPECT_EQ(table["rows"][0]["cells"], json({"keepalived", "5m"}));
  EXPECT_EQ(table["rows"][0]["object"], config_map);
}

}  // namespace
}  // namespace berth::kubesim
