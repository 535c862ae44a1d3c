// Strategic merge patch (application/strategic-merge-patch+json), what kubectl apply, annotate,
// label and edit send, for the kinds kube-sim serves.
//
// Maps merge as in a JSON merge patch (null deletes a key). Lists are replaced, except those
// Kubernetes declares with a patch merge key: Service spec.ports (by `port`), metadata
// ownerReferences (by `uid`), status.conditions (by `type`), a ServiceAccount's secrets and
// imagePullSecrets (by `name`), the pod spec of a kind with a pod template (DaemonSet,
// Deployment: containers, initContainers, volumes ... by `name`, a container's env by `name`,
// ports by `containerPort`, volumeMounts by `mountPath`), and metadata.finalizers (a list of
// strings merged as a set). Every other list, also of a kind kube-sim stores generically (RBAC
// rules and subjects, say), is replaced, as Kubernetes declares them atomic. Directives:
//   {"$patch": "replace"} in a map: the map becomes the patch (minus the directive);
//   {"$patch": "delete"} in a map: the map is removed; in a list element: the element with that
//     merge key is removed;  {"$patch": "replace"} as a list element: the list is replaced by
//     the other elements;
//   "$setElementOrder/<list>": [...]: the order of the merged list (elements named there come
//     first, in that order; others keep their relative order after them);
//   "$retainKeys": [...]: keys of the original map not listed are dropped;
//   "$deleteFromPrimitiveList/<list>": [...]: those values are removed from a list of scalars.
//
// Thread-safety: pure function.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace berth::kubesim {

// kInvalidArgument (400) when the patch is not a JSON object or a directive is malformed.
Result<nlohmann::json> strategic_merge_patch(std::string_view kind, const nlohmann::json& original,
                                             const nlohmann::json& patch);

}  // namespace berth::kubesim
