#include "dataplane/model_builder.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <tuple>
#include <unordered_map>
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

// One marked Service and what build() decided about it.
struct ServiceEntry {
  const kube::Service* service = nullptr;
  std::string key;
  bool servable = false;
  ServiceOptions options;
  std::set<Warning> warnings;
};

struct Claim {
  int host_port = 0;
  std::string order;  // claim_order() of the Service
  std::string owner;  // "<ns>/<name>/<service port>", the allocator's owner string
  std::size_t entry = 0;
  kube::ServicePort port;
};

using SliceIndex = std::map<std::pair<std::string_view, std::string_view>, std::vector<const kube::EndpointSlice*>>;

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

std::vector<haproxy::Server> endpoint_servers(const ServiceEntry& entry, const kube::ServicePort& port,
                                              const SliceIndex& slices, bool allow_loopback,
                                              std::set<Warning>& warnings) {
  std::vector<haproxy::Server> servers;
  auto it = slices.find({entry.service->meta.namespace_, entry.service->meta.name});
  if (it == slices.end()) return servers;
  for (const kube::EndpointSlice* slice : it->second) {
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

}  // namespace

ModelBuilder::ModelBuilder(controller::AnnotationConfig config, ports::PortRangeSet pool, bool allow_loopback_endpoints)
    : config_(std::move(config)), pool_(std::move(pool)), allow_loopback_endpoints_(allow_loopback_endpoints) {}

BuiltModel ModelBuilder::build(const std::vector<kube::Store<kube::Service>::Ptr>& services,
                               const std::vector<kube::Store<kube::EndpointSlice>::Ptr>& slices,
                               const std::set<int>& unusable_host_ports) const {
  // Marked Services in key order; of two objects with one key (never from a Store), the older
  // claim is kept, so the input order never matters.
  std::vector<const kube::Service*> marked;
  for (const auto& service : services) {
    if (service && controller::is_marked(service->meta, config_)) marked.push_back(service.get());
  }
  auto rank = [](const kube::Service* s) {
    return std::tie(s->meta.namespace_, s->meta.name, s->meta.creation_timestamp, s->meta.uid,
                    s->meta.resource_version);
  };
  std::ranges::sort(marked, [&](const auto* a, const auto* b) { return rank(a) < rank(b); });
  marked.erase(std::unique(marked.begin(), marked.end(),
                           [](const auto* a, const auto* b) {
                             return a->meta.namespace_ == b->meta.namespace_ && a->meta.name == b->meta.name;
                           }),
               marked.end());

  BuiltModel built;
  std::vector<ServiceEntry> entries;
  entries.reserve(marked.size());
  std::vector<Claim> claims;
  for (const kube::Service* service : marked) {
    ServiceEntry& entry = entries.emplace_back();
    entry.service = service;
    entry.key = service->meta.key();
    const std::string ns_error = kube::dns1123_label_error(service->meta.namespace_);
    const std::string name_error = kube::dns1123_label_error(service->meta.name);
    if (!ns_error.empty() || !name_error.empty()) {
      const bool bad_ns = !ns_error.empty();
      entry.warnings.insert(
          {"InvalidName",
           fmt::format("{} {} is not a DNS-1123 label; the Service is not served", bad_ns ? "namespace" : "name",
                       safe_excerpt(bad_ns ? service->meta.namespace_ : service->meta.name))});
    } else {
      entry.options = parse_service_options(service->meta.annotations, config_);
      entry.servable = entry.options.servable;
      for (const OptionProblem& problem : entry.options.problems) {
        entry.warnings.insert({"InvalidOption", problem.message()});
      }
    }
    const controller::AllocationAnnotations allocations = controller::read_allocation_annotations(*service, config_);
    for (const kube::ServicePort& port : controller::tcp_ports(*service).tcp) {
      auto unserved = [&](int host_port, std::string reason) {
        built.unserved.push_back({entry.key, port.port, host_port, std::move(reason)});
      };
      auto value = allocations.by_service_port.find(port.port);
      if (value == allocations.by_service_port.end()) {
        unserved(0, "no host port allocated yet");
        continue;
      }
      const int* host_port = std::get_if<int>(&value->second);
      if (host_port == nullptr) {
        unserved(0, "the allocation annotation is not a port number");
      } else if (!pool_.contains(*host_port)) {
        unserved(*host_port, "the host port is outside the pool");
      } else if (unusable_host_ports.contains(*host_port)) {
        unserved(*host_port, "the host port is unusable here");
      }
      if (host_port == nullptr || !pool_.contains(*host_port) || unusable_host_ports.contains(*host_port)) continue;
      claims.push_back(
          {*host_port, claim_order(*service), fmt::format("{}/{}", entry.key, port.port), entries.size() - 1, port});
    }
  }
  std::ranges::sort(claims, [](const Claim& a, const Claim& b) {
    return std::tie(a.host_port, a.order, a.owner) < std::tie(b.host_port, b.order, b.owner);
  });

  SliceIndex index;
  for (const auto& slice : slices) {
    if (!slice || slice->service_name.empty()) continue;
    if (slice->address_type != "IPv4" && slice->address_type != "IPv6") continue;  // FQDN: nothing to dial
    index[{slice->meta.namespace_, slice->service_name}].push_back(slice.get());
  }
  for (auto& [service, list] : index) {
    std::ranges::sort(list, [](const auto* a, const auto* b) {
      return std::tie(a->meta.name, a->meta.uid, a->meta.resource_version) <
             std::tie(b->meta.name, b->meta.uid, b->meta.resource_version);
    });
  }

  for (std::size_t i = 0; i < claims.size(); ++i) {
    const Claim& claim = claims[i];
    ServiceEntry& entry = entries[claim.entry];
    if (i > 0 && claims[i - 1].host_port == claim.host_port) {  // a younger claim: the allocator settles it
      built.unserved.push_back({entry.key, claim.port.port, claim.host_port, "an older claim holds the host port"});
      continue;
    }
    if (!entry.servable) {
      built.unserved.push_back({entry.key, claim.port.port, claim.host_port, "the Service is not served (see its Warnings)"});
      continue;
    }
    haproxy::Listener listener;
    listener.host_port = claim.host_port;
    listener.service = {entry.service->meta.namespace_, entry.service->meta.name, claim.port.port};
    listener.options = entry.options.options;
    std::optional<haproxy::Server> cluster_ip;
    if (entry.options.mode == BackendMode::kClusterIp) {
      cluster_ip = cluster_ip_server(*entry.service, claim.port, allow_loopback_endpoints_, entry.warnings);
    }
    listener.servers = cluster_ip ? std::vector<haproxy::Server>{*cluster_ip}
                                  : endpoint_servers(entry, claim.port, index, allow_loopback_endpoints_, entry.warnings);
    built.owner.emplace(claim.host_port, entry.key);
    built.model.listeners.emplace(claim.host_port, std::move(listener));
  }
  std::ranges::sort(built.unserved);
  for (ServiceEntry& entry : entries) {
    if (!entry.warnings.empty()) {
      built.warnings.emplace(entry.key, std::vector<Warning>(entry.warnings.begin(), entry.warnings.end()));
    }
  }
  return built;
}

}  // namespace berth::dataplane
