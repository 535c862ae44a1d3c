#include "kube/lease_client.h"

namespace berth::kube {

Result<Lease> get_lease(ApiClient& client, std::string_view ns, std::string_view name) {
  auto doc = client.get(kLeases, ns, name);
  if (!doc) return std::unexpected(doc.error());
  return parse_lease(*doc);
}

Result<Lease> create_lease(ApiClient& client, const Lease& lease) {
  nlohmann::json object = to_json(lease);
  // The API server rejects a create that carries a resourceVersion.
  object["metadata"].erase("resourceVersion");
  auto doc = client.create(kLeases, lease.meta.namespace_, object);
  if (!doc) return std::unexpected(doc.error());
  return parse_lease(*doc);
}

Result<Lease> update_lease(ApiClient& client, const Lease& lease) {
  auto doc = client.update(kLeases, lease.meta.namespace_, lease.meta.name, to_json(lease));
  if (!doc) return std::unexpected(doc.error());
  return parse_lease(*doc);
}

}  // namespace berth::kube
