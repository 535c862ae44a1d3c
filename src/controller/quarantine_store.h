// Keeps the quarantined host ports in the cluster: an annotation (quarantine_record.h format)
// on a coordination.k8s.io/v1 Lease that only the allocating instance writes. A new leader, or
// berth after a restart, reads it back, so a released port never reaches a new tenant early
// because the process that released it went away.
//
// Why a Lease of its own rather than the leader-election Lease: the elector renews its Lease
// every retry period with a full update; a second writer on the same object would turn every
// save into a conflict race. A Lease is still the natural kind: small, namespaced,
// coordination-owned, and covered by the same RBAC rule.
//
// save() replaces the whole record (the allocator owns it) with a read-modify-write carrying
// the resourceVersion; a conflict re-reads and tries again (a few times). The Lease is created
// when missing. Other annotations and labels on it are kept. When the record would exceed the
// 256 KiB annotation budget (more than ~13,000 ports in quarantine), the entries released
// longest ago (they end first) are left out and a warning is logged.
//
// Errors: those of the ApiClient. load() treats a missing Lease or annotation as an empty
// record and a corrupt one as empty with a logged error (the ports named by Service
// annotations are still safe: claims do not depend on the record).
// Thread-safety: as the ApiClient; the caller serializes save() calls.
#pragma once

#include <memory>
#include <string>

#include "controller/quarantine_record.h"
#include "kube/api_client.h"

namespace spdlog {
class logger;
}

namespace berth::controller {

class QuarantineStore {
 public:
  QuarantineStore(kube::ApiClient& api, std::string lease_namespace, std::string lease_name,
                  std::string annotation_key);

  Result<QuarantinedPorts> load();
  Result<void> save(const QuarantinedPorts& ports);

 private:
  kube::ApiClient& api_;
  const std::string namespace_;
  const std::string name_;
  const std::string key_;
  std::shared_ptr<spdlog::logger> log_;
};

// The record for `ports` that fits in `budget` bytes, leaving out the entries released longest
// ago; `left_out` counts them.
std::string format_quarantine_within(const QuarantinedPorts& ports, std::size_t budget, std::size_t& left_out);

}  // namespace berth::controller
