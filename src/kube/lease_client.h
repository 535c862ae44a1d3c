// Reading and writing coordination.k8s.io/v1 Leases for leader election.
//
// update_lease() is a PUT whose metadata.resourceVersion is the precondition: two candidates
// that read the same version cannot both win (the loser gets kConflict and re-reads).
//
// Errors: those of ApiClient (kNotFound, kConflict, kAlreadyExists, ...) and kParse when the
// server's answer is not a Lease. Thread-safety: as the ApiClient.
#pragma once

#include <string_view>

#include "common/error.h"
#include "kube/api_client.h"
#include "kube/lease.h"

namespace berth::kube {

Result<Lease> get_lease(ApiClient& client, std::string_view ns, std::string_view name);
// Creates lease (meta.namespace_ and meta.name say where); kAlreadyExists if another won.
Result<Lease> create_lease(ApiClient& client, const Lease& lease);
// Replaces lease; meta.resource_version must be the version that was read.
Result<Lease> update_lease(ApiClient& client, const Lease& lease);

}  // namespace berth::kube
