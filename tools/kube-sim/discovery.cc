#include "kube-sim/discovery.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/stable_hash.h"
#include "kube-sim/served_resource.h"

namespace berth::kubesim {
namespace {

nlohmann::json resource_entry(const ServedResource& row) {
  const kube::ResourceType& type = row.type;
  std::string singular(type.kind);
  std::transform(singular.begin(), singular.end(), singular.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  // Only the verbs kube-sim implements; deletecollection is not among them.
  nlohmann::json entry = {{"name", type.plural},
                          {"singularName", singular},
                          {"namespaced", type.namespaced},
                          {"kind", type.kind},
                          {"verbs", {"create", "delete", "get", "list", "patch", "update", "watch"}}};
  if (!row.short_names.empty()) entry["shortNames"] = row.short_names;
  if (!row.categories.empty()) entry["categories"] = row.categories;
  return entry;
}

// The served group/versions other than the core one, in first-seen order.
std::vector<std::pair<std::string, std::string>> named_group_versions() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& type : served_resources()) {
    if (type.group.empty()) continue;
    std::pair<std::string, std::string> gv{std::string(type.group), std::string(type.version)};
    if (std::find(out.begin(), out.end(), gv) == out.end()) out.push_back(gv);
  }
  return out;
}

}  // namespace

nlohmann::json version_document() {
  return {{"major", "1"},
          {"minor", "32"},
          {"gitVersion", kGitVersion},
          {"gitCommit", "0000000000000000000000000000000000000000"},
          {"gitTreeState", "clean"},
          {"buildDate", "2026-01-01T00:00:00Z"},
          {"goVersion", "go1.23.0"},
          {"compiler", "gc"},
          {"platform", "linux/amd64"}};
}

nlohmann::json api_versions_document(std::string_view server_address) {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}};
}

nlohmann::json api_group_list_document() {
  nlohmann::json groups = nlohmann::json::array();
  for (const auto& [group, version] : named_group_versions()) {
    nlohmann::json gv = {{"groupVersion", group + "/" + version}, {"version", version}};
    groups.push_back({{"name", group}, {"versions", {gv}}, {"preferredVersion", gv}});
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

std::optional<nlohmann::json> api_resource_list_document(std::string_view group, std::string_view version) {
  nlohmann::json resources = nlohmann::json::array();
  for (const auto& row : served_resource_table()) {
    if (row.type.group == group && row.type.version == version) resources.push_back(resource_entry(row));
  }
  if (resources.empty()) return std::nullopt;
  std::string group_version = group.empty() ? std::string(version) : std::string(group) + "/" + std::string(version);
  return nlohmann::json{
      {"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", group_version}, {"resources", resources}};
}

nlohmann::json openapi_v3_root_document() {
  // kubectl caches each document under its URL, hash included (in --cache-dir, ~/.kube/cache by
  // default): the hash is the document's own (a stable hash of its text), so a kube-sim that
  // serves more kinds is never answered from an older one's cache.
  nlohmann::json paths = nlohmann::json::object();
  auto add = [&paths](std::string_view group, std::string_view version) {
    const std::uint64_t hash = stable_hash(openapi_v3_group_version_document(group, version).value_or(nullptr).dump());
    const std::string key = group.empty() ? fmt::format("api/{}", version) : fmt::format("apis/{}/{}", group, version);
    paths[key] = {{"serverRelativeURL", fmt::format("/openapi/v3/{}?hash={:016X}", key, hash)}};
  };
  add("", "v1");
  for (const auto& [group, version] : named_group_versions()) add(group, version);
  return {{"paths", paths}};
}

std::optional<nlohmann::json> openapi_v3_group_version_document(std::string_view group, std::string_view version) {
  nlohmann::json paths = nlohmann::json::object();
  for (const auto& type : served_resources()) {
    if (type.group != group || type.version != version) continue;
    std::string path = type.group_version_path() + (type.namespaced ? "/namespaces/{namespace}/" : "/") +
                       std::string(type.plural) + "/{name}";
    paths[path] = {
        {"patch",
         {{"operationId", "patch" + std::string(type.kind)},
          {"x-kubernetes-action", "patch"},
          {"x-kubernetes-group-version-kind", {{"group", type.group}, {"version", type.version}, {"kind", type.kind}}},
          {"parameters",
           {{{"name", "fieldValidation"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
            {{"name", "dryRun"}, {"in", "query"}, {"schema", {{"type", "string"}}}},
            {{"name", "fieldManager"}, {"in", "query"}, {"schema", {{"type", "string"}}}}}},
          {"responses", {{"200", {{"description", "OK"}}}}}}}};
  }
  if (paths.empty()) return std::nullopt;
  return nlohmann::json{{"openapi", "3.0.0"},
                        {"info", {{"title", "Kubernetes (kube-sim)"}, {"version", kGitVersion}}},
                        {"paths", paths},
                        {"components", {{"schemas", nlohmann::json::object()}}}};
}

}  // namespace berth::kubesim
