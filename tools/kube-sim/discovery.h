// kube-apiserver's discovery documents for the resources kube-sim serves (served_resources()):
// /version, /api (APIVersions), /api/v1 and /apis/<group>/<version> (APIResourceList) and
// /apis (APIGroupList). kube-sim answers only with these legacy documents: kubectl asks for
// aggregated discovery (apidiscovery.k8s.io/v2) first and falls back to them when the answer's
// Content-Type is plain application/json.
//
// OpenAPI: kube-sim serves no schemas, only a minimal OpenAPI v3 (/openapi/v3 and one document
// per group/version) whose PATCH operations declare the fieldValidation query parameter and the
// x-kubernetes-group-version-kind extension. That tells kubectl (--validate=strict, the default)
// that the server validates, so it skips client-side schema validation instead of failing with
// "failed to download openapi"; the operations declare no request body, so `kubectl apply`
// computes strategic merge patches from its compiled-in types. /openapi/v2 is 404.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace berth::kubesim {

inline constexpr std::string_view kGitVersion = "v1.32.0-kube-sim";

nlohmann::json version_document();
// `server_address` is host:port as clients reach it (serverAddressByClientCIDRs).
nlohmann::json api_versions_document(std::string_view server_address);
nlohmann::json api_group_list_document();
// std::nullopt for a group/version kube-sim does not serve ("" = the core group).
std::optional<nlohmann::json> api_resource_list_document(std::string_view group, std::string_view version);

// GET /openapi/v3: {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=.."}, ..}}
nlohmann::json openapi_v3_root_document();
// GET /openapi/v3/api/v1, /openapi/v3/apis/<group>/<version>; std::nullopt when not served.
std::optional<nlohmann::json> openapi_v3_group_version_document(std::string_view group, std::string_view version);

}  // namespace berth::kubesim
