// Feeds: the input bytes as the JSON of a core/v1 Service, as a GET, a LIST item or a watch
// event's object carries it, through parse_service(), then what the controller reads from a
// parsed Service: tcp_ports(), is_marked() and read_allocation_annotations().
//
// Asserts, beyond no crash, leak, undefined behaviour or escaping exception:
//   - a parsed Service keeps the header's promises: a name; a type and a protocol on every port
//     (defaults applied); ports in 1..65535; a numeric targetPort in 1..65535;
//   - parsing round-trips: the Service written back as JSON (text, as the API would send it)
//     parses to the same fields;
//   - tcp_ports(): every kept port is TCP (or empty), distinct and in range; every spec port is
//     kept, skipped or a duplicate number;
//   - read_allocation_annotations(): every entry is a kept TCP port; a valid value is 1..65535
//     written canonically; every stale entry's key is an allocation key.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "controller/allocation_annotations.h"
#include "controller/tcp_ports.h"
#include "fuzz_check.h"
#include "kube/object_meta_json.h"
#include "kube/service.h"

namespace {

using berth::fuzz::require;
using nlohmann::json;
namespace kube = berth::kube;
namespace controller = berth::controller;

json service_to_json(const kube::Service& s) {
  json meta = kube::to_json(s.meta);
  if (!s.meta.uid.empty()) meta["uid"] = s.meta.uid;
  if (!s.meta.creation_timestamp.empty()) meta["creationTimestamp"] = s.meta.creation_timestamp;
  if (s.meta.deletion_timestamp) meta["deletionTimestamp"] = *s.meta.deletion_timestamp;
  json ports = json::array();
  for (const auto& p : s.ports) {
    json port = {{"name", p.name}, {"port", p.port}, {"protocol", p.protocol}};
    if (p.target_port.is_int()) {
      port["targetPort"] = p.target_port.int_value();
    } else {
      port["targetPort"] = p.target_port.string_value();
    }
    ports.push_back(std::move(port));
  }
  json spec = {{"type", s.type}, {"clusterIP", s.cluster_ip}, {"ports", std::move(ports)}};
  if (!s.selector.empty()) spec["selector"] = s.selector;
  return json{{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", std::move(meta)}, {"spec", std::move(spec)}};
}

bool same_meta(const kube::ObjectMeta& a, const kube::ObjectMeta& b) {
  return a.name == b.name && a.namespace_ == b.namespace_ && a.uid == b.uid &&
         a.resource_version == b.resource_version && a.creation_timestamp == b.creation_timestamp &&
         a.deletion_timestamp == b.deletion_timestamp && a.labels == b.labels && a.annotations == b.annotations;
}

void check_parsed(const kube::Service& s) {
  require(!s.meta.name.empty(), "a parsed Service has a name");
  require(!s.type.empty(), "type defaults to ClusterIP");
  for (const auto& p : s.ports) {
    require(p.port >= 1 && p.port <= 65535, "a port is 1..65535");
    require(!p.protocol.empty(), "protocol defaults to TCP");
    if (p.target_port.is_int()) {
      require(p.target_port.int_value() >= 1 && p.target_port.int_value() <= 65535, "targetPort is 1..65535");
    }
  }
}

void check_round_trip(const kube::Service& s) {
  const std::string text = service_to_json(s).dump();
  auto again = kube::parse_service(json::parse(text));
  require(again.has_value(), "a written-back Service parses", text);
  require(same_meta(s.meta, again->meta), "metadata round-trips", text);
  require(s.type == again->type && s.cluster_ip == again->cluster_ip && s.selector == again->selector,
          "spec round-trips", text);
  require(s.ports == again->ports, "ports round-trip", text);
}

void check_controller_view(const kube::Service& s) {
  const controller::TcpPorts ports = controller::tcp_ports(s);
  std::set<std::int32_t> numbers;
  for (const auto& p : ports.tcp) {
    require(p.protocol.empty() || p.protocol == "TCP", "a kept port is TCP");
    require(p.port >= 1 && p.port <= 65535, "a kept port is 1..65535");
    require(numbers.insert(p.port).second, "kept ports are distinct");
  }
  require(ports.tcp.size() + ports.skipped.size() <= s.ports.size(), "nothing is invented");

  const controller::AnnotationConfig config;
  const bool marked = controller::is_marked(s.meta, config);
  auto it = s.meta.annotations.find(config.class_annotation);
  require(marked == (it != s.meta.annotations.end() && it->second == config.ingress_class),
          "is_marked is the class annotation's exact value");
  const auto allocations = controller::read_allocation_annotations(s, config);
  for (const auto& [service_port, value] : allocations.by_service_port) {
    require(numbers.contains(service_port), "an allocation belongs to a kept TCP port");
    if (const int* host_port = std::get_if<int>(&value)) {
      require(*host_port >= 1 && *host_port <= 65535, "a host port is 1..65535");
      const std::string& raw = s.meta.annotations.at(controller::allocation_key(config, service_port));
      require(raw == std::to_string(*host_port), "a valid host port is written canonically", raw);
    }
  }
  for (const auto& stale : allocations.stale) {
    require(controller::is_allocation_key(config, stale.key), "a stale entry is an allocation key", stale.key);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  auto service = kube::parse_service(doc);
  if (!service) return 0;
  check_parsed(*service);
  check_round_trip(*service);
  check_controller_view(*service);
  return 0;
}
