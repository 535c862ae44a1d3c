// Setting and removing annotations on one object with a JSON merge patch (RFC 7386) that
// carries the resourceVersion the caller read, so a concurrent writer (or a second leader)
// makes the patch fail with kConflict instead of being overwritten:
//
//   {"metadata":{"resourceVersion":"42","annotations":{"haproxy-ingress/3306":"26735","old":null}}}
//
// A nullopt value removes the annotation. An empty resource_version sends no precondition.
//
// Thread-safety: as the ApiClient.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "kube/api_client.h"
#include "kube/resource.h"

namespace berth::kube {

using AnnotationChanges = std::map<std::string, std::optional<std::string>>;

// The merge-patch body.
nlohmann::json annotation_patch_body(std::string_view resource_version, const AnnotationChanges& changes);

// PATCHes the object (a Service unless `type` says otherwise) and returns the object as the
// server stored it. kConflict when resource_version is stale, kNotFound when it is gone.
Result<nlohmann::json> patch_annotations(ApiClient& client, std::string_view ns, std::string_view name,
                                         std::string_view resource_version, const AnnotationChanges& changes,
                                         const ResourceType& type = kServices);

}  // namespace berth::kube
