#include "dataplane/model_builder.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "controller/allocation_annotations.h"
#include "controller/tcp_ports.h"
#include "dataplane/service_options.h"
#include "kube/name_validation.h"

namespace berth::dataplane {
namespace {

using controller::Warning;

std::string claim_order(const kube::Service& service) {
  return service.meta.creation_timestamp + "/" + service.meta.uid;
}

bool is_tcp(const std::string& protocol) { return protocol.empty() || protocol == "TCP"; }

// Why an address must never be a server, or "" for a usable one. The API server rejects
// loopback and link-local endpoint addresses since CVE-2021-25737; berth checks again, since
// forwarding to them would expose the load-balancer host's own services (or a cloud metadata
// endpoint) on a public port.
// `allow_loopback`: --allow-loopback-endpoints, for one-machine demos and tests.
std::string unusable_address_reason(const haproxy::IpAddress& address, bool allow_loopback) {
  std::array<unsigned char, 16> b{};
  if (!address.is_v6()) {
    inet_pton(AF_INET, address.text().c_str(), b.data());
  } else {
    inet_pton(AF_INET6, address.text().c_str(), b.data());
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b.data(), kMapped, sizeof kMapped) == 0) {
      std::memmove(b.data(), b.data() + 12, 4);  // an IPv4-mapped address: judge the IPv4 part
    } else {
      static constexpr std::array<unsigned char, 16> kUnspecified{};
      std::array<unsigned char, 16> loopback{};
      loopback[15] = 1;
      if (b == kUnspecified) return "the unspecified address";
      if (b == loopback) return allow_loopback ? "" : "a loopback address";
      if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "a link-local address";
      if (b[0] == 0xff) return "a multicast address";
      return "";
    }
  }
  if (b[0] == 0) return "in 0.0.0.0/8 (this host)";
  if (b[0] == 127) return allow_loopback ? "" : "a loopback address";
  if (b[0] == 169 && b[1] == 254) return "a link-local address";
  if (b[0] >= 224) return "a multicast or reserved address";
  return "";
}

// The slice port that carries `port`, or nullopt.
std::optional<int> slice_port_for(const kube::EndpointSlice& slice, const kube::ServicePort& port) {
  auto usable = [](const kube::EndpointPort& p) {
    return is_tcp(p.protocol) && p.port && *p.port >= 1 && *p.port <= 65535;
  };
  for (const kube::EndpointPort& p : slice.ports) {
    if (p.name == port.name && usable(p)) return *p.port;
  }
  if (port.target_port.is_int()) {
    for (const kube::EndpointPort& p : slice.ports) {
      if (usable(p) && *p.port == port.target_port.int_value()) return *p.port;
    }
  }
  return std::nullopt;
}

std::vector<haproxy::Server> endpoint_servers(const std::vector<ModelBuilder::SlicePtr>& slices,
                                              const kube::ServicePort& port, bool allow_loopback,
                                              std::set<Warning>& warnings) {
  std::vector<haproxy::Server> servers;
  for (const ModelBuilder::SlicePtr& slice : slices) {
    auto target = slice_port_for(*slice, port);
    if (!target) continue;
    const bool v6 = slice->address_type == "IPv6";
    for (const kube::Endpoint& endpoint : slice->endpoints) {
      if (!endpoint.conditions.is_ready() || endpoint.conditions.is_terminating()) continue;
      auto invalid = [&](std::string_view what) {
        warnings.insert({"InvalidEndpoint",
                         fmt::format("EndpointSlice {}: endpoint {}; skipped", safe_excerpt(slice->meta.name), what)});
      };
      if (endpoint.addresses.empty()) {
        invalid("has no address");
        continue;
      }
      // Addresses of one endpoint are fungible; the API says consumers may use only the first.
      const std::string& text = endpoint.addresses.front();
      auto address = haproxy::IpAddress::parse(text);
      if (!address || address->is_v6() != v6) {
        invalid(fmt::format("address {} is not an {} address", safe_excerpt(text), v6 ? "IPv6" : "IPv4"));
        continue;
      }
      if (auto reason = unusable_address_reason(*address, allow_loopback); !reason.empty()) {
        invalid(fmt::format("address {} is {}", address->text(), reason));
        continue;
      }
      servers.push_back({std::move(*address), *target});
    }
  }
  std::ranges::sort(servers);
  servers.erase(std::unique(servers.begin(), servers.end()), servers.end());
  return servers;
}

// The ClusterIP as the one server, or nullopt (with a Warning) when the Service has none.
std::optional<haproxy::Server> cluster_ip_server(const kube::Service& service, const kube::ServicePort& port,
                                                 bool allow_loopback, std::set<Warning>& warnings) {
  const std::string& ip = service.cluster_ip;
  if (ip.empty() || ip == "None") {
    warnings.insert({"NoClusterIP",
                     "backend=clusterip, but the Service has no ClusterIP (headless); its endpoints "
                     "are used instead"});
    return std::nullopt;
  }
  auto address = haproxy::IpAddress::parse(ip);
  std::string reason;
  if (!address) {
    reason = "is not an address";
  } else {
    reason = unusable_address_reason(*address, allow_loopback);
    if (!reason.empty()) reason = "is " + reason;
  }
  if (!reason.empty()) {
    warnings.insert({"NoClusterIP", fmt::format("backend=clusterip, but spec.clusterIP {} {}; its endpoints are used "
                                                "instead",
                                                safe_excerpt(ip), reason)});
    return std::nullopt;
  }
  return haproxy::Server{std::move(*address), port.port};
}

// Why a claim on a host port gets no listener.
constexpr std::string_view kUnservedUnusable = "the host port is unusable here";
constexpr std::string_view kUnservedOlderClaim = "an older claim holds the host port";
constexpr std::string_view kUnservedNotServed = "the Service is not served (see its Warnings)";

// BuiltModel::unserved stays sorted, so the patch keeps it so with these two.
void insert_unserved(std::vector<UnservedPort>& unserved, UnservedPort port) {
  unserved.insert(std::ranges::upper_bound(unserved, port), std::move(port));
}

void erase_unserved(std::vector<UnservedPort>& unserved, const UnservedPort& port) {
  auto it = std::ranges::lower_bound(unserved, port);
  if (it != unserved.end() && *it == port) unserved.erase(it);
}

// Whether a slice can give a Service servers: it names its Service and has addresses to dial
// (not FQDN).
bool usable_slice(const kube::EndpointSlice& slice) {
  return !slice.service_name.empty() && (slice.address_type == "IPv4" || slice.address_type == "IPv6");
}

// The order of one Service's slices in its view, whatever the input's order: a view is kept
// while it was made from the same slices in the same order (ServiceView::made_from).
bool slice_before(const kube::EndpointSlice& a, const kube::EndpointSlice& b) {
  return std::tie(a.meta.name, a.meta.uid, a.meta.resource_version) <
         std::tie(b.meta.name, b.meta.uid, b.meta.resource_version);
}

}  // namespace

// What the last build from Stores read, so that the next one reads only what changed since.
// Valid exactly while ModelBuilder::stores_ holds it: memo_ then has one entry per Service of
// the Store (by object), and the views in memo_ are those of the last result.
struct ModelBuilder::StoreIndex {
  // A Service's namespace and name, which a slice names its Service by. Not the Store key: the
  // vector build matches the two fields, and "a/b" + "c" and "a" + "b/c" have one key.
  using ServiceName = std::pair<std::string, std::string>;
  // Hashes a (namespace, name) held as strings, or as views into a vector build's input.
  struct ServiceNameHash {
    template <class Name>
    std::size_t operator()(const Name& n) const {
      return std::hash<std::string_view>{}(n.first) * 31 + std::hash<std::string_view>{}(n.second);
    }
  };

  const kube::Store<kube::Service>* services = nullptr;
  const kube::Store<kube::EndpointSlice>* slices = nullptr;
  std::uint64_t services_revision = 0;  // what the changes are asked since
  std::uint64_t slices_revision = 0;
  // Store key → the object the builder has for it (its memo_ entry holds it).
  std::unordered_map<std::string, const kube::Service*> service_at;
  // A usable slice's Store key → the Service it belongs to: where a changed or deleted slice was.
  std::unordered_map<std::string, ServiceName> slice_owner;
  // A Service → its usable slices, sorted by slice_before(): what its view is made from.
  std::unordered_map<ServiceName, std::vector<SlicePtr>, ServiceNameHash> slices_of;
};

// What build() decides about one marked Service from the Service and its own slices alone.
// Kept between builds while both are the same objects: a Store's objects are immutable (a
// change arrives as a new object), so at 10,000 Services a build redoes only what changed.
struct ModelBuilder::ServiceView {
  ServicePtr service;
  std::vector<SlicePtr> slices;  // the slices its servers came from, in build()'s order
  std::string key;               // "ns/name"
  std::string order;             // claim_order()
  bool servable = false;
  haproxy::BackendOptions options;
  std::set<Warning> warnings;    // name and option Warnings

  // One TCP port of the Service.
  struct Port {
    kube::ServicePort port;
    int host_port = 0;      // the annotation's value when it is a valid number; else 0
    std::string unserved;   // why it can claim no host port; "" = it claims host_port
    std::vector<haproxy::Server> servers;  // when servable
    std::set<Warning> server_warnings;     // raised only when the port gets a listener
  };
  std::vector<Port> ports;

  bool made_from(const ServicePtr& s, const std::vector<const SlicePtr*>& from) const {
    return service == s && std::ranges::equal(slices, from, {}, &SlicePtr::get,
                                              [](const SlicePtr* slice) { return slice->get(); });
  }
  bool made_from(const ServicePtr& s, const std::vector<SlicePtr>& from) const {
    return service == s && slices == from;  // the same objects
  }

  // Whether the port takes part in settling its host port: it has a valid one, usable here.
  static bool claims(const Port& port, const std::set<int>& unusable_host_ports) {
    return port.unserved.empty() && !unusable_host_ports.contains(port.host_port);
  }

  static const Port& port_of(const Claim& claim) { return claim.view->ports[claim.port]; }

  // The allocator's rule for two claims on one host port: the older claim
  // ("<creationTimestamp>/<uid>", then the owner string "<ns>/<name>/<service port>") keeps it.
  // Ties are rare, so the strings are compared only for them.
  static bool older(const Claim& a, const Claim& b) {
    if (a.view->order != b.view->order) return a.view->order < b.view->order;
    return fmt::format("{}/{}", a.view->key, port_of(a).port.port) <
           fmt::format("{}/{}", b.view->key, port_of(b).port.port);
  }

  // Why claims[i] (older first) gets no listener, or "" when it gets the host port's listener.
  static std::string_view outcome(const std::vector<Claim>& claims, std::size_t i) {
    if (i > 0) return kUnservedOlderClaim;  // a younger claim: the allocator settles it
    if (!claims[i].view->servable) return kUnservedNotServed;
    return "";
  }

  static haproxy::Listener listener(const Claim& claim) {
    const ServiceView& view = *claim.view;
    const Port& port = port_of(claim);
    haproxy::Listener listener;
    listener.host_port = port.host_port;
    listener.service = {view.service->meta.namespace_, view.service->meta.name, port.port.port};
    listener.options = view.options;
    listener.servers = port.servers;
    return listener;
  }
};

ModelBuilder::ModelBuilder(controller::AnnotationConfig config, ports::PortRangeSet pool, bool allow_loopback_endpoints)
    : config_(std::move(config)), pool_(std::move(pool)), allow_loopback_endpoints_(allow_loopback_endpoints) {}

ModelBuilder::~ModelBuilder() = default;

std::shared_ptr<const ModelBuilder::ServiceView> ModelBuilder::view_of(const ServicePtr& service,
                                                                       std::vector<SlicePtr> slices) const {
  auto view = std::make_shared<ServiceView>();
  view->service = service;
  view->slices = std::move(slices);
  view->key = service->meta.key();
  view->order = claim_order(*service);
  const std::string ns_error = kube::dns1123_label_error(service->meta.namespace_);
  const std::string name_error = kube::dns1123_label_error(service->meta.name);
  BackendMode mode = BackendMode::kEndpoints;
  if (!ns_error.empty() || !name_error.empty()) {
    const bool bad_ns = !ns_error.empty();
    view->warnings.insert(
        {"InvalidName",
         fmt::format("{} {} is not a DNS-1123 label; the Service is not served", bad_ns ? "namespace" : "name",
                     safe_excerpt(bad_ns ? service->meta.namespace_ : service->meta.name))});
  } else {
    ServiceOptions options = parse_service_options(service->meta.annotations, config_);
    view->servable = options.servable;
    view->options = std::move(options.options);
    mode = options.mode;
    for (const OptionProblem& problem : options.problems) view->warnings.insert({"InvalidOption", problem.message()});
  }
  const controller::AllocationAnnotations allocations = controller::read_allocation_annotations(*service, config_);
  for (const kube::ServicePort& service_port : controller::tcp_ports(*service).tcp) {
    ServiceView::Port& port = view->ports.emplace_back();
    port.port = service_port;
    auto value = allocations.by_service_port.find(service_port.port);
    const int* host_port = value == allocations.by_service_port.end() ? nullptr : std::get_if<int>(&value->second);
    if (host_port != nullptr) port.host_port = *host_port;
    if (value == allocations.by_service_port.end()) {
      port.unserved = "no host port allocated yet";
    } else if (host_port == nullptr) {
      port.unserved = "the allocation annotation is not a port number";
    } else if (!pool_.contains(*host_port)) {
      port.unserved = "the host port is outside the pool";
    }
    if (!port.unserved.empty() || !view->servable) continue;
    std::optional<haproxy::Server> cluster_ip;
    if (mode == BackendMode::kClusterIp) {
      cluster_ip = cluster_ip_server(*service, service_port, allow_loopback_endpoints_, port.server_warnings);
    }
    port.servers = cluster_ip ? std::vector<haproxy::Server>{*cluster_ip}
                              : endpoint_servers(view->slices, service_port, allow_loopback_endpoints_,
                                                 port.server_warnings);
  }
  return view;
}

std::shared_ptr<const BuiltModel> ModelBuilder::build(const std::vector<ServicePtr>& services,
                                                      const std::vector<SlicePtr>& slices,
                                                      const std::set<int>& unusable_host_ports) const {
  std::lock_guard lock(memo_mu_);
  stores_.reset();  // the memo no longer mirrors the Stores
  return build_from(services, slices, unusable_host_ports);
}

std::shared_ptr<const BuiltModel> ModelBuilder::build(const kube::Store<kube::Service>& services,
                                                      const kube::Store<kube::EndpointSlice>& slices,
                                                      const std::set<int>& unusable_host_ports) const {
  std::lock_guard lock(memo_mu_);
  if (stores_ && stores_->services == &services && stores_->slices == &slices) {
    const kube::ChangedKeys changed_services = services.changed_since(stores_->services_revision);
    const kube::ChangedKeys changed_slices = slices.changed_since(stores_->slices_revision);
    if (changed_services.complete && changed_slices.complete) {
      auto built =
          build_from_changes(services, slices, changed_services.keys, changed_slices.keys, unusable_host_ports);
      stores_->services_revision = changed_services.revision;
      stores_->slices_revision = changed_slices.revision;
      return built;
    }
  }

  // Everything, as the vector build does it. The revisions are read before the lists: a change
  // in between is in the lists and is named again by the next changed_since(), and reading a key
  // the builder is already up to date with changes nothing.
  stores_.reset();
  auto index = std::make_unique<StoreIndex>();
  index->services = &services;
  index->slices = &slices;
  index->services_revision = services.revision();
  index->slices_revision = slices.revision();
  const std::vector<ServicePtr> service_list = services.list();
  const std::vector<SlicePtr> slice_list = slices.list();
  auto built = build_from(service_list, slice_list, unusable_host_ports);
  index->service_at.reserve(service_list.size());
  for (const ServicePtr& service : service_list) index->service_at.emplace(service->meta.key(), service.get());
  index->slice_owner.reserve(slice_list.size());
  for (const SlicePtr& slice : slice_list) {
    if (!usable_slice(*slice)) continue;
    StoreIndex::ServiceName owner{slice->meta.namespace_, slice->service_name};
    index->slices_of[owner].push_back(slice);
    index->slice_owner.emplace(slice->meta.key(), std::move(owner));
  }
  for (auto& [owner, own] : index->slices_of) {
    std::ranges::sort(own, [](const SlicePtr& a, const SlicePtr& b) { return slice_before(*a, *b); });
  }
  stores_ = std::move(index);
  return built;
}

std::shared_ptr<const BuiltModel> ModelBuilder::build_from(const std::vector<ServicePtr>& services,
                                                           const std::vector<SlicePtr>& slices,
                                                           const std::set<int>& unusable_host_ports) const {
  // Each Service's slices, in an order that does not depend on the input's.
  using NameView = std::pair<std::string_view, std::string_view>;  // (namespace, name), into the input
  // Pointers into `slices`: a shared_ptr is copied only into a view that is worked out anew.
  std::unordered_map<NameView, std::vector<const SlicePtr*>, StoreIndex::ServiceNameHash> slices_of;
  slices_of.reserve(slices.size());
  for (const SlicePtr& slice : slices) {
    if (!slice || !usable_slice(*slice)) continue;  // FQDN: nothing to dial
    slices_of[{slice->meta.namespace_, slice->service_name}].push_back(&slice);
  }
  for (auto& [name, list] : slices_of) {
    if (list.size() < 2) continue;
    std::ranges::sort(list, [](const SlicePtr* a, const SlicePtr* b) { return slice_before(**a, **b); });
  }

  // Marked Services, one per key; of two objects with one key (never from a Store), the older
  // claim is kept, so the input order never matters.
  auto rank = [](const kube::Service& s) {
    return std::tie(s.meta.creation_timestamp, s.meta.uid, s.meta.resource_version);
  };
  // The memo is updated in place: entries this build does not see are dropped at its end. Until
  // the result is settled again it no longer matches the memo (and if a view throws, it never
  // does: the next build starts from nothing).
  const bool last_was_complete = last_complete_;
  last_complete_ = false;
  const std::uint64_t generation = ++memo_generation_;
  struct Marked {
    const ServicePtr* service = nullptr;
    MemoEntry* entry = nullptr;  // stable: an unordered_map's elements do not move
  };
  std::unordered_map<NameView, Marked, StoreIndex::ServiceNameHash> marked;
  marked.reserve(services.size());
  for (const ServicePtr& service : services) {
    if (!service) continue;
    auto [memo, fresh] = memo_.try_emplace(service.get());
    MemoEntry& entry = memo->second;
    if (fresh) {  // an object never changes, so whether it is marked is decided once
      entry.service = service;
      entry.marked = controller::is_marked(service->meta, config_);
    }
    entry.seen = generation;
    if (!entry.marked) continue;
    auto [it, inserted] = marked.try_emplace({service->meta.namespace_, service->meta.name}, Marked{&service, &entry});
    if (!inserted && rank(*service) < rank(**it->second.service)) it->second = {&service, &entry};
  }

  std::vector<const ServiceView*> views;
  views.reserve(marked.size());
  // What changed since the last build: the views made anew, and the views they replace or
  // that no Service uses any more (kept alive here until the patch has dropped their claims).
  std::vector<const ServiceView*> added;
  std::vector<std::shared_ptr<const ServiceView>> removed;
  static const std::vector<const SlicePtr*> kNoSlices;
  for (const auto& [name, chosen] : marked) {
    auto own = slices_of.find(name);
    const std::vector<const SlicePtr*>& own_slices = own == slices_of.end() ? kNoSlices : own->second;
    MemoEntry& entry = *chosen.entry;
    if (!entry.view || !entry.view->made_from(*chosen.service, own_slices)) {
      std::vector<SlicePtr> copies;
      copies.reserve(own_slices.size());
      for (const SlicePtr* slice : own_slices) copies.push_back(*slice);
      if (entry.view) removed.push_back(std::move(entry.view));
      entry.view = view_of(*chosen.service, std::move(copies));
      added.push_back(entry.view.get());
    }
    entry.used = generation;
    views.push_back(entry.view.get());
  }
  for (auto it = memo_.begin(); it != memo_.end();) {
    MemoEntry& entry = it->second;
    if (entry.used != generation && entry.view) removed.push_back(std::move(entry.view));  // gone, or a duplicate key
    if (entry.seen == generation) {
      ++it;
    } else {
      it = memo_.erase(it);
    }
  }

  return settle(added, removed, &views, views.size(), last_was_complete, unusable_host_ports);
}

std::shared_ptr<const BuiltModel> ModelBuilder::build_from_changes(const kube::Store<kube::Service>& services,
                                                                   const kube::Store<kube::EndpointSlice>& slices,
                                                                   const std::vector<std::string>& changed_services,
                                                                   const std::vector<std::string>& changed_slices,
                                                                   const std::set<int>& unusable_host_ports) const {
  // Until the index is whole again it is not kept (a view that throws leaves it half done), and
  // the result no longer matches the memo.
  std::unique_ptr<StoreIndex> index = std::move(stores_);
  const bool last_was_complete = last_complete_;
  last_complete_ = false;

  // The Services whose view may differ: a key changed, or a slice left or joined them. Each
  // changed key is read again whether or not it still differs from what the builder has (a key
  // may be named by the next build's log too, when it changed while this one read it).
  std::vector<StoreIndex::ServiceName> affected;
  for (const std::string& key : changed_slices) {
    SlicePtr now = slices.get(key);
    if (auto was = index->slice_owner.find(key); was != index->slice_owner.end()) {
      auto own = index->slices_of.find(was->second);
      std::erase_if(own->second, [&](const SlicePtr& slice) { return slice->meta.key() == key; });
      if (own->second.empty()) index->slices_of.erase(own);
      affected.push_back(std::move(was->second));
      index->slice_owner.erase(was);
    }
    if (now && usable_slice(*now)) {
      StoreIndex::ServiceName owner{now->meta.namespace_, now->service_name};
      std::vector<SlicePtr>& own = index->slices_of[owner];
      own.insert(std::ranges::upper_bound(own, now, [](const SlicePtr& a, const SlicePtr& b) {
                   return slice_before(*a, *b);
                 }),
                 now);
      index->slice_owner.emplace(key, owner);
      affected.push_back(std::move(owner));
    }
  }
  std::vector<std::shared_ptr<const ServiceView>> removed;  // kept alive until the patch dropped their claims
  for (const std::string& key : changed_services) {
    ServicePtr now = services.get(key);
    auto was = index->service_at.find(key);
    const kube::Service* before = was == index->service_at.end() ? nullptr : was->second;
    if (before == now.get()) continue;  // the object the builder has (its memo entry holds it)
    if (before != nullptr) {
      auto entry = memo_.find(before);
      affected.emplace_back(before->meta.namespace_, before->meta.name);
      if (entry->second.view) removed.push_back(std::move(entry->second.view));
      memo_.erase(entry);
      index->service_at.erase(was);
    }
    if (now) {
      auto [entry, fresh] = memo_.try_emplace(now.get());
      if (fresh) {
        entry->second.service = now;
        entry->second.marked = controller::is_marked(now->meta, config_);
      }
      index->service_at.insert_or_assign(key, now.get());
      affected.emplace_back(now->meta.namespace_, now->meta.name);
    }
  }
  std::ranges::sort(affected);
  affected.erase(std::unique(affected.begin(), affected.end()), affected.end());

  std::vector<const ServiceView*> added;
  static const std::vector<SlicePtr> kNoSlices;
  for (const StoreIndex::ServiceName& name : affected) {
    auto at = index->service_at.find(kube::object_key(name.first, name.second));
    if (at == index->service_at.end() || at->second->meta.namespace_ != name.first ||
        at->second->meta.name != name.second) {
      continue;  // no such Service (now): its view, if it had one, went with its memo entry
    }
    MemoEntry& entry = memo_.at(at->second);
    if (!entry.marked) continue;
    auto own = index->slices_of.find(name);
    const std::vector<SlicePtr>& own_slices = own == index->slices_of.end() ? kNoSlices : own->second;
    if (entry.view && entry.view->made_from(entry.service, own_slices)) continue;
    if (entry.view) removed.push_back(std::move(entry.view));
    entry.view = view_of(entry.service, own_slices);
    added.push_back(entry.view.get());
  }
  // Every memo entry is a Service of the Store, so its size stands for the vector build's count
  // of marked Services in the patch-or-rebuild threshold.
  auto built = settle(added, removed, nullptr, memo_.size(), last_was_complete, unusable_host_ports);
  stores_ = std::move(index);
  return built;
}

// Patching costs about O(changed × log n) plus moving unserved entries; past a share of the
// Services, building anew is cheaper (a first sync, a resync). `views`: every view in use, or
// nullptr for those in memo_.
std::shared_ptr<const BuiltModel> ModelBuilder::settle(const std::vector<const ServiceView*>& added,
                                                       const std::vector<std::shared_ptr<const ServiceView>>& removed,
                                                       const std::vector<const ServiceView*>* views,
                                                       std::size_t services, bool last_was_complete,
                                                       const std::set<int>& unusable_host_ports) const {
  const std::size_t changed = added.size() + removed.size();
  if (!last_ || !last_was_complete || last_unusable_ != unusable_host_ports ||
      changed > std::max<std::size_t>(16, services / 4)) {
    std::vector<const ServiceView*> in_memo;
    if (views == nullptr) {
      in_memo.reserve(memo_.size());
      for (const auto& [object, entry] : memo_) {
        if (entry.view) in_memo.push_back(entry.view.get());
      }
      views = &in_memo;
    }
    build_from_scratch(*views, unusable_host_ports);
  } else if (changed > 0) {
    patch(added, removed);
  } else {
    // The same listeners as the previous result, which says so (a copy when it is still held,
    // as a result never changes under its holder).
    if (last_->changed_ports != std::set<int>{}) {
      if (last_.use_count() > 1) last_ = std::make_shared<BuiltModel>(*last_);
      last_->changed_ports.emplace();
    }
    last_complete_ = true;
  }
  return last_;
}

// The reference: every claim sorted and settled, every listener made.
void ModelBuilder::build_from_scratch(const std::vector<const ServiceView*>& views,
                                      const std::set<int>& unusable_host_ports) const {
  claims_.clear();
  auto built = std::make_shared<BuiltModel>();
  std::vector<std::pair<int, Claim>> claims;  // by host port
  for (const ServiceView* view : views) {
    for (std::size_t i = 0; i < view->ports.size(); ++i) {
      const ServiceView::Port& port = view->ports[i];
      if (!port.unserved.empty()) {
        built->unserved.push_back({view->key, port.port.port, port.host_port, port.unserved});
      } else if (unusable_host_ports.contains(port.host_port)) {
        built->unserved.push_back({view->key, port.port.port, port.host_port, std::string(kUnservedUnusable)});
      } else {
        claims.emplace_back(port.host_port, Claim{view, i});
      }
    }
  }
  std::ranges::sort(claims, [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return ServiceView::older(a.second, b.second);
  });
  for (const auto& [host_port, claim] : claims) claims_[host_port].push_back(claim);

  std::map<const ServiceView*, std::set<Warning>> server_warnings;
  for (const auto& [host_port, on_port] : claims_) {
    for (std::size_t i = 0; i < on_port.size(); ++i) {
      const Claim& claim = on_port[i];
      const ServiceView::Port& port = ServiceView::port_of(claim);
      if (auto reason = ServiceView::outcome(on_port, i); !reason.empty()) {
        built->unserved.push_back({claim.view->key, port.port.port, host_port, std::string(reason)});
        continue;
      }
      if (!port.server_warnings.empty()) {
        server_warnings[claim.view].insert(port.server_warnings.begin(), port.server_warnings.end());
      }
      built->owner.emplace(host_port, claim.view->key);
      built->model.listeners.emplace(host_port, ServiceView::listener(claim));
    }
  }
  std::ranges::sort(built->unserved);
  for (const ServiceView* view : views) {
    auto extra = server_warnings.find(view);
    if (view->warnings.empty() && extra == server_warnings.end()) continue;
    std::set<Warning> all = view->warnings;
    if (extra != server_warnings.end()) all.insert(extra->second.begin(), extra->second.end());
    built->warnings.emplace(view->key, std::vector<Warning>(all.begin(), all.end()));
  }
  built->changed_ports = std::nullopt;  // any listener may differ
  last_ = std::move(built);
  last_unusable_ = unusable_host_ports;
  last_complete_ = true;
}

// The last result, with only the host ports the changed views claim (or claimed) settled again
// and only the changed views' and those claimants' entries replaced. `unusable_host_ports` is
// the last build's (else the build starts from nothing).
void ModelBuilder::patch(const std::vector<const ServiceView*>& added,
                         const std::vector<std::shared_ptr<const ServiceView>>& removed) const {
  // A result the caller still holds must never change under it.
  if (last_.use_count() > 1) last_ = std::make_shared<BuiltModel>(*last_);
  BuiltModel& built = *last_;

  std::unordered_set<const ServiceView*> gone;
  std::vector<int> host_ports;  // the host ports to settle again
  for (const auto& view : removed) {
    gone.insert(view.get());
    for (const ServiceView::Port& port : view->ports) {
      if (ServiceView::claims(port, last_unusable_)) host_ports.push_back(port.host_port);
    }
  }
  for (const ServiceView* view : added) {
    for (const ServiceView::Port& port : view->ports) {
      if (ServiceView::claims(port, last_unusable_)) host_ports.push_back(port.host_port);
    }
  }
  std::ranges::sort(host_ports);
  host_ports.erase(std::unique(host_ports.begin(), host_ports.end()), host_ports.end());

  // Undo what the last build decided on those host ports for the claimants that stay; a
  // removed view's entries go below by its key.
  for (int host_port : host_ports) {
    built.model.listeners.erase(host_port);
    built.owner.erase(host_port);
    auto on_port = claims_.find(host_port);
    if (on_port == claims_.end()) continue;
    for (std::size_t i = 0; i < on_port->second.size(); ++i) {
      const Claim& claim = on_port->second[i];
      if (gone.contains(claim.view)) continue;
      if (auto reason = ServiceView::outcome(on_port->second, i); !reason.empty()) {
        erase_unserved(built.unserved,
                       {claim.view->key, ServiceView::port_of(claim).port.port, host_port, std::string(reason)});
      }
    }
  }
  for (const auto& view : removed) {
    auto [first, last] = std::ranges::equal_range(built.unserved, view->key, {}, &UnservedPort::service);
    built.unserved.erase(first, last);
    built.warnings.erase(view->key);
    for (const ServiceView::Port& port : view->ports) {
      if (!ServiceView::claims(port, last_unusable_)) continue;
      std::erase_if(claims_[port.host_port], [&](const Claim& claim) { return claim.view == view.get(); });
    }
  }
  for (const ServiceView* view : added) {
    for (std::size_t i = 0; i < view->ports.size(); ++i) {
      const ServiceView::Port& port = view->ports[i];
      if (!port.unserved.empty()) {
        insert_unserved(built.unserved, {view->key, port.port.port, port.host_port, port.unserved});
      } else if (last_unusable_.contains(port.host_port)) {
        insert_unserved(built.unserved, {view->key, port.port.port, port.host_port, std::string(kUnservedUnusable)});
      } else {
        claims_[port.host_port].push_back({view, i});
      }
    }
  }

  // Settle the host ports again; every claimant on them may have won or lost a listener, so
  // its Warnings are worked out again too.
  std::vector<const ServiceView*> touched = added;
  for (int host_port : host_ports) {
    auto on_port = claims_.find(host_port);
    if (on_port == claims_.end()) continue;
    std::vector<Claim>& claims = on_port->second;
    if (claims.empty()) {
      claims_.erase(on_port);
      continue;
    }
    std::ranges::sort(claims, ServiceView::older);
    for (std::size_t i = 0; i < claims.size(); ++i) {
      const Claim& claim = claims[i];
      touched.push_back(claim.view);
      if (auto reason = ServiceView::outcome(claims, i); !reason.empty()) {
        insert_unserved(built.unserved,
                        {claim.view->key, ServiceView::port_of(claim).port.port, host_port, std::string(reason)});
        continue;
      }
      built.owner.emplace(host_port, claim.view->key);
      built.model.listeners.emplace(host_port, ServiceView::listener(claim));
    }
  }
  std::ranges::sort(touched);
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  for (const ServiceView* view : touched) update_warnings(built, *view);
  built.changed_ports.emplace(host_ports.begin(), host_ports.end());  // no other listener was touched
  last_complete_ = true;
}

// A Service's Warnings: its view's, and the server Warnings of its ports that got a listener.
void ModelBuilder::update_warnings(BuiltModel& built, const ServiceView& view) const {
  std::set<Warning> all = view.warnings;
  for (std::size_t i = 0; i < view.ports.size(); ++i) {
    const ServiceView::Port& port = view.ports[i];
    if (port.server_warnings.empty() || !ServiceView::claims(port, last_unusable_)) continue;
    const std::vector<Claim>& claims = claims_.at(port.host_port);
    if (claims.front().view == &view && claims.front().port == i && ServiceView::outcome(claims, 0).empty()) {
      all.insert(port.server_warnings.begin(), port.server_warnings.end());
    }
  }
  if (all.empty()) {
    built.warnings.erase(view.key);
  } else {
    built.warnings.insert_or_assign(view.key, std::vector<Warning>(all.begin(), all.end()));
  }
}

}  // namespace berth::dataplane
