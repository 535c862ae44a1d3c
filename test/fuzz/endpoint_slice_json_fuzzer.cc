// Feeds: the input bytes as the JSON of a discovery.k8s.io/v1 EndpointSlice, as a GET, a LIST
// item or a watch event's object carries it, through parse_endpoint_slice().
//
// Asserts, beyond no crash, leak, undefined behaviour or escaping exception:
//   - a parsed slice keeps the header's promises: a name; every endpoint has at least one
//     address; port numbers, when present, are 1..65535; every port has a protocol;
//     service_name is exactly the kubernetes.io/service-name label ("" without one);
//   - the condition defaults: is_ready()/is_serving() are true and is_terminating() false
//     exactly when the field is absent;
//   - parsing round-trips: the slice written back as JSON text parses to the same fields.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_check.h"
#include "kube/endpoint_slice.h"
#include "kube/object_meta_json.h"

namespace {

using berth::fuzz::require;
using nlohmann::json;
namespace kube = berth::kube;

json slice_to_json(const kube::EndpointSlice& s) {
  json meta = kube::to_json(s.meta);
  if (!s.meta.uid.empty()) meta["uid"] = s.meta.uid;
  if (!s.meta.creation_timestamp.empty()) meta["creationTimestamp"] = s.meta.creation_timestamp;
  if (s.meta.deletion_timestamp) meta["deletionTimestamp"] = *s.meta.deletion_timestamp;
  json endpoints = json::array();
  for (const auto& e : s.endpoints) {
    json conditions = json::object();
    if (e.conditions.ready) conditions["ready"] = *e.conditions.ready;
    if (e.conditions.serving) conditions["serving"] = *e.conditions.serving;
    if (e.conditions.terminating) conditions["terminating"] = *e.conditions.terminating;
    json endpoint = {{"addresses", e.addresses}, {"conditions", std::move(conditions)}};
    if (!e.hostname.empty()) endpoint["hostname"] = e.hostname;
    if (!e.node_name.empty()) endpoint["nodeName"] = e.node_name;
    if (!e.zone.empty()) endpoint["zone"] = e.zone;
    endpoints.push_back(std::move(endpoint));
  }
  json ports = json::array();
  for (const auto& p : s.ports) {
    json port = {{"name", p.name}, {"protocol", p.protocol}};
    if (p.port) port["port"] = *p.port;
    ports.push_back(std::move(port));
  }
  json out = {{"apiVersion", "discovery.k8s.io/v1"}, {"kind", "EndpointSlice"}, {"metadata", std::move(meta)},
              {"endpoints", std::move(endpoints)}, {"ports", std::move(ports)}};
  if (!s.address_type.empty()) out["addressType"] = s.address_type;
  return out;
}

bool same_endpoint(const kube::Endpoint& a, const kube::Endpoint& b) {
  return a.addresses == b.addresses && a.conditions == b.conditions && a.hostname == b.hostname &&
         a.node_name == b.node_name && a.zone == b.zone;
}

void check_parsed(const kube::EndpointSlice& s) {
  require(!s.meta.name.empty(), "a parsed slice has a name");
  auto label = s.meta.labels.find(std::string(kube::kServiceNameLabel));
  require(s.service_name == (label == s.meta.labels.end() ? std::string() : label->second),
          "service_name is the kubernetes.io/service-name label");
  for (const auto& e : s.endpoints) {
    require(!e.addresses.empty(), "an endpoint has an address");
    require(e.conditions.is_ready() == e.conditions.ready.value_or(true), "absent ready means ready");
    require(e.conditions.is_serving() == e.conditions.serving.value_or(true), "absent serving means serving");
    require(e.conditions.is_terminating() == e.conditions.terminating.value_or(false), "absent terminating means not");
  }
  for (const auto& p : s.ports) {
    require(!p.port || (*p.port >= 1 && *p.port <= 65535), "a slice port is 1..65535");
    require(!p.protocol.empty(), "protocol defaults to TCP");
  }
}

void check_round_trip(const kube::EndpointSlice& s) {
  const std::string text = slice_to_json(s).dump();
  auto again = kube::parse_endpoint_slice(json::parse(text));
  require(again.has_value(), "a written-back slice parses", text);
  require(again->meta.name == s.meta.name && again->meta.namespace_ == s.meta.namespace_ &&
              again->meta.labels == s.meta.labels && again->meta.annotations == s.meta.annotations &&
              again->meta.resource_version == s.meta.resource_version && again->meta.uid == s.meta.uid,
          "metadata round-trips", text);
  require(again->service_name == s.service_name && again->address_type == s.address_type, "fields round-trip",
          text);
  require(again->ports == s.ports, "ports round-trip", text);
  require(again->endpoints.size() == s.endpoints.size(), "endpoints round-trip", text);
  for (std::size_t i = 0; i < s.endpoints.size(); ++i) {
    require(same_endpoint(s.endpoints[i], again->endpoints[i]), "an endpoint round-trips", text);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  auto slice = kube::parse_endpoint_slice(doc);
  if (!slice) return 0;
  check_parsed(*slice);
  check_round_trip(*slice);
  return 0;
}
