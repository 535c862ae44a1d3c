#include "kube/lease.h"

#include <limits>

#include "kube/json_field.h"
#include "kube/object_meta_json.h"
#include "kube/resource.h"

namespace berth::kube {

namespace jf = json_field;

Result<Lease> parse_lease(const nlohmann::json& object) {
  Lease lease;
  auto meta = parse_object_meta(object);
  if (!meta) return std::unexpected(meta.error());
  lease.meta = std::move(*meta);
  auto spec = jf::optional_object(object, "spec", "");
  if (!spec) return std::unexpected(spec.error());
  if (*spec == nullptr) return lease;
  const auto& sp = **spec;
  auto holder = jf::optional_string(sp, "holderIdentity", "spec");
  if (!holder) return std::unexpected(holder.error());
  lease.holder_identity = holder->value_or("");
  auto duration = jf::optional_int(sp, "leaseDurationSeconds", "spec", 0, std::numeric_limits<std::int32_t>::max());
  if (!duration) return std::unexpected(duration.error());
  if (*duration) lease.lease_duration_seconds = static_cast<std::int32_t>(**duration);
  auto acquire = jf::optional_string(sp, "acquireTime", "spec");
  if (!acquire) return std::unexpected(acquire.error());
  lease.acquire_time = acquire->value_or("");
  auto renew = jf::optional_string(sp, "renewTime", "spec");
  if (!renew) return std::unexpected(renew.error());
  lease.renew_time = renew->value_or("");
  auto transitions = jf::optional_int(sp, "leaseTransitions", "spec", 0, std::numeric_limits<std::int32_t>::max());
  if (!transitions) return std::unexpected(transitions.error());
  lease.lease_transitions = static_cast<std::int32_t>(transitions->value_or(0));
  return lease;
}

nlohmann::json to_json(const Lease& lease) {
  nlohmann::json spec = nlohmann::json::object();
  if (!lease.holder_identity.empty()) spec["holderIdentity"] = lease.holder_identity;
  if (lease.lease_duration_seconds) spec["leaseDurationSeconds"] = *lease.lease_duration_seconds;
  if (!lease.acquire_time.empty()) spec["acquireTime"] = lease.acquire_time;
  if (!lease.renew_time.empty()) spec["renewTime"] = lease.renew_time;
  spec["leaseTransitions"] = lease.lease_transitions;
  return {{"apiVersion", kLeases.api_version()}, {"kind", kLeases.kind}, {"metadata", to_json(lease.meta)},
          {"spec", spec}};
}

}  // namespace berth::kube
