// The cached Services and EndpointSlices → the haproxy::Model every replica serves.
//
// The data plane runs on every replica and reads only annotations: the host port of a Service
// port is its allocation annotation "<prefix>/<service port>: <host port>", written by the
// leader's allocator (docs/allocation.md). docs/dataplane.md describes the rules for users.
//
//   ModelBuilder builder(annotations, pool);
//   std::shared_ptr<const BuiltModel> built = builder.build(services, slices, unusable);  // the Stores
//   std::shared_ptr<const BuiltModel> same = builder.build(services.list(), slices.list(), unusable);
//
// One Listener per TCP port (controller/tcp_ports.h) of a marked Service whose allocation
// annotation is a valid host port in the pool and not in `unusable_host_ports`. Ports without
// an annotation or with an invalid one are skipped silently: the allocator reports those and
// writes a fresh port.
//
// Claims on one host port by two Service ports are settled with the allocator's rule: the
// older claim ("<creationTimestamp>/<uid>", then "<ns>/<name>/<service port>") keeps it, the
// other gets no listener and no Warning (the allocator raises PortConflict). Every marked
// Service's valid annotations take part, even those of a Service that is itself not served
// (an invalid name, an invalid allow-sources): a younger claimant must never receive the
// older one's clients.
//
// Servers:
//   endpoints (default)  the endpoints of the Service's EndpointSlices (same namespace, label
//                        kubernetes.io/service-name = the Service's name, address type IPv4 or
//                        IPv6) that are ready and not terminating, each by its first address,
//                        at the slice port named like the ServicePort (or, when no port has
//                        that name and targetPort is a number, the slice port with that
//                        number); duplicates merged.
//   clusterip            the Service's ClusterIP at the service port; a headless Service (no
//                        ClusterIP) falls back to its endpoints with a Warning NoClusterIP.
// A listener with no server still exists: its port stays bound and accepts and closes, so
// endpoints coming back need no reload.
//
// Marked TCP ports that get no listener are listed in `unserved` with a short reason: no host
// port yet, an annotation that is not a port, a host port outside the pool or unusable here, a
// host port an older claim holds, or a Service that is not served (its Warnings say why).
//
// Warnings (by Service key, sorted; only Services that have some), each stable for an
// unchanged state so the caller raises an Event only when one is new:
//   InvalidName      namespace or name is not a DNS-1123 label; the Service is not served
//   InvalidOption    an option annotation (service_options.h); the default is used, except
//                    allow-sources, which makes the Service not served
//   InvalidEndpoint  an EndpointSlice endpoint whose first address is not an address of the
//                    slice's type; the endpoint is skipped
//   NoClusterIP      clusterip mode on a Service without a usable ClusterIP
// Every string that reaches a Warning from the cluster is shown through safe_excerpt().
//
// build() is deterministic: the same objects in any order give an equal Model, equal Warnings
// and an equal owner map. Null pointers in the inputs are ignored.
//
// Cost: what a Service alone decides (its options, annotations and servers) is kept between
// builds while the Service and its slices are the same objects (a Store's objects are
// immutable), so a build after one change redoes that one Service. The result is kept too and
// patched: only the host ports the changed Services claim (or claimed) are decided again, and
// only their listeners, owners, unserved entries and Warnings are replaced.
//   From the two Stores (the sync loop's way), a build reads only the keys their change logs
//   (kube::Store::changed_since) name since the last build from the same two Stores: the
//   changed Services, and the old and new owner of each changed EndpointSlice, which the builder
//   finds in its own index (slice key → owning Service; a Service → its usable slices), as a
//   deleted slice is no longer in the Store. A build after a few changes is O(changed × log n).
//   The first build, a build from other Stores, or one after a change log no longer reaches back
//   (a relist: more than the log's capacity of changes) lists both Stores, as below, and builds
//   the index anew.
//   From two vectors, finding the changed Services is O(n): every Service's name and its
//   slices' pointers are hashed. Such a build also drops the Store index, so the next build
//   from Stores lists them.
// Either way the result starts from nothing when there is no earlier result,
// `unusable_host_ports` differs from the last build's, or a large share of the Services changed
// (bench/model_builder_bench.cc).
//
// Result: build() returns the builder's kept result, shared. A build patches it in place only
// when the caller has released every earlier result; while one is still held it is copied
// first (O(n)), so a result never changes under its holder. Either way it is exactly what a
// fresh builder returns for the same inputs. Hold a result only as long as it is needed: the
// sync loop holds it for one sync.
//
// Thread-safety: build() may be called from any thread; calls are serialized.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "controller/allocator.h"
#include "controller/annotation_keys.h"
#include "haproxy/model.h"
#include "kube/endpoint_slice.h"
#include "kube/service.h"
#include "kube/store.h"
#include "ports/port_range_set.h"

namespace berth::dataplane {

// A TCP port of a marked Service that gets no listener, and why (for `berth status`; the
// Events that explain it in detail are the allocator's and the Warnings above).
struct UnservedPort {
  std::string service;    // "ns/name"
  int service_port = 0;
  int host_port = 0;      // the annotation's value when it has a valid one; else 0
  std::string reason;
  auto operator<=>(const UnservedPort&) const = default;
};

struct BuiltModel {
  haproxy::Model model;
  // Every marked TCP port without a listener, by Service key and service port.
  std::vector<UnservedPort> unserved;
  // Service key ("ns/name") → its Warnings, sorted by reason and message.
  std::map<std::string, std::vector<controller::Warning>> warnings;
  // host port → the key of the Service its listener serves; exactly the model's listeners.
  std::map<int, std::string> owner;
  // The host ports whose entry in model.listeners may differ from the builder's previous result
  // (a listener added, removed or changed), so that a caller can look at those alone. A superset:
  // the host ports the changed Services claim or claimed; empty when nothing changed. nullopt
  // when any may: the result was built from nothing (the first build, the unusable host ports
  // changed, many Services changed).
  std::optional<std::set<int>> changed_ports;
};

class ModelBuilder {
 public:
  using ServicePtr = kube::Store<kube::Service>::Ptr;
  using SlicePtr = kube::Store<kube::EndpointSlice>::Ptr;

  // `pool`: --port-range minus --exclude-ports, the same set the allocator hands ports from.
  // `allow_loopback_endpoints` (--allow-loopback-endpoints): accept 127.0.0.0/8 and ::1
  // endpoints, which a real API server refuses, for demos and tests on one machine.
  ModelBuilder(controller::AnnotationConfig config, ports::PortRangeSet pool, bool allow_loopback_endpoints = false);
  ~ModelBuilder();
  ModelBuilder(const ModelBuilder&) = delete;
  ModelBuilder& operator=(const ModelBuilder&) = delete;

  // The model of the objects in `services` and `slices`; duplicates of one key (never from a
  // Store) and null pointers allowed, as above.
  std::shared_ptr<const BuiltModel> build(const std::vector<ServicePtr>& services, const std::vector<SlicePtr>& slices,
                                          const std::set<int>& unusable_host_ports) const;
  // The model of what the two Stores hold, exactly as build(services.list(), slices.list(), ...)
  // gives it, from their change logs when it can (Cost above). The builder keeps the Stores'
  // addresses: a Store destroyed and another made at its address is noticed (kube::Store's
  // revisions never continue another's), but a Store must not be destroyed during a build.
  // The Stores may be written during a build, as between two list() calls: a key changed
  // meanwhile may be seen either way, and is looked at again by the next build.
  std::shared_ptr<const BuiltModel> build(const kube::Store<kube::Service>& services,
                                          const kube::Store<kube::EndpointSlice>& slices,
                                          const std::set<int>& unusable_host_ports) const;

 private:
  struct ServiceView;  // what one Service and its slices decide (model_builder.cc)
  // A TCP port of a Service that claims the host port of its allocation annotation.
  struct Claim {
    const ServiceView* view = nullptr;
    std::size_t port = 0;  // index into view->ports
  };
  // One Service object the last build saw. It holds the object, so its address is not reused
  // by another while the entry lasts.
  struct MemoEntry {
    ServicePtr service;
    bool marked = false;
    std::shared_ptr<const ServiceView> view;  // when the last build used it
    std::uint64_t seen = 0;  // the last vector build that had it in its input
    std::uint64_t used = 0;  // the last vector build that used its view (a Store build keeps
                             // memo_ equal to the Store instead, so it needs neither)
  };
  using Memo = std::unordered_map<const kube::Service*, MemoEntry>;
  struct StoreIndex;  // the Stores the last build read, and its index of them (model_builder.cc)

  // Both build()s with memo_mu_ held: the vector build, the Store build that follows the change
  // logs, and what they end with (patch or build from scratch, by how much changed).
  std::shared_ptr<const BuiltModel> build_from(const std::vector<ServicePtr>& services,
                                               const std::vector<SlicePtr>& slices,
                                               const std::set<int>& unusable_host_ports) const;
  std::shared_ptr<const BuiltModel> build_from_changes(const kube::Store<kube::Service>& services,
                                                       const kube::Store<kube::EndpointSlice>& slices,
                                                       const std::vector<std::string>& changed_services,
                                                       const std::vector<std::string>& changed_slices,
                                                       const std::set<int>& unusable_host_ports) const;
  std::shared_ptr<const BuiltModel> settle(const std::vector<const ServiceView*>& added,
                                           const std::vector<std::shared_ptr<const ServiceView>>& removed,
                                           const std::vector<const ServiceView*>* views, std::size_t services,
                                           bool last_was_complete, const std::set<int>& unusable_host_ports) const;
  std::shared_ptr<const ServiceView> view_of(const ServicePtr& service, std::vector<SlicePtr> slices) const;
  void build_from_scratch(const std::vector<const ServiceView*>& views, const std::set<int>& unusable_host_ports) const;
  void patch(const std::vector<const ServiceView*>& added,
             const std::vector<std::shared_ptr<const ServiceView>>& removed) const;
  void update_warnings(BuiltModel& built, const ServiceView& view) const;

  controller::AnnotationConfig config_;
  ports::PortRangeSet pool_;
  bool allow_loopback_endpoints_ = false;
  mutable std::mutex memo_mu_;
  mutable Memo memo_;  // the last build's Services and views; guarded by memo_mu_
  mutable std::uint64_t memo_generation_ = 0;  // guarded by memo_mu_
  // The last build's result and what it was built from; guarded by memo_mu_. `claims_` holds,
  // by host port, the claims of the memo's views, older first (the first one decides the port).
  mutable std::shared_ptr<BuiltModel> last_;
  mutable bool last_complete_ = false;  // false while a build is underway (or threw)
  mutable std::set<int> last_unusable_;
  mutable std::unordered_map<int, std::vector<Claim>> claims_;
  // Set by a build from Stores that completed; reset by a vector build. Guarded by memo_mu_.
  mutable std::unique_ptr<StoreIndex> stores_;
};

}  // namespace berth::dataplane
