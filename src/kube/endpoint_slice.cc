#include "kube/endpoint_slice.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kube/json_field.h"

namespace berth::kube {
namespace {

using nlohmann::json;
namespace jf = json_field;

Result<Endpoint> parse_endpoint(const json& e, const std::string& path) {
  if (!e.is_object()) return make_error(ErrorCode::kParse, fmt::format("{} is not an object", path));
  Endpoint out;
  auto addresses = jf::optional_array(e, "addresses", path);
  if (!addresses) return std::unexpected(addresses.error());
  if (*addresses == nullptr || (*addresses)->empty()) {
    return make_error(ErrorCode::kParse, fmt::format("{}.addresses is missing", path));
  }
  for (std::size_t i = 0; i < (*addresses)->size(); ++i) {
    const json& a = (**addresses)[i];
    if (!a.is_string()) return make_error(ErrorCode::kParse, fmt::format("{}.addresses[{}] is not a string", path, i));
    out.addresses.push_back(a.get<std::string>());
  }
  auto conditions = jf::optional_object(e, "conditions", path);
  if (!conditions) return std::unexpected(conditions.error());
  if (*conditions != nullptr) {
    std::string cpath = jf::join(path, "conditions");
    auto ready = jf::optional_bool(**conditions, "ready", cpath);
    if (!ready) return std::unexpected(ready.error());
    auto serving = jf::optional_bool(**conditions, "serving", cpath);
    if (!serving) return std::unexpected(serving.error());
    auto terminating = jf::optional_bool(**conditions, "terminating", cpath);
    if (!terminating) return std::unexpected(terminating.error());
    out.conditions = {*ready, *serving, *terminating};
  }
  for (auto [field, into] : {std::pair{"hostname", &out.hostname}, std::pair{"nodeName", &out.node_name},
                             std::pair{"zone", &out.zone}}) {
    auto v = jf::optional_string(e, field, path);
    if (!v) return std::unexpected(v.error());
    *into = v->value_or("");
  }
  return out;
}

Result<EndpointPort> parse_port(const json& p, const std::string& path) {
  if (!p.is_object()) return make_error(ErrorCode::kParse, fmt::format("{} is not an object", path));
  EndpointPort out;
  auto name = jf::optional_string(p, "name", path);
  if (!name) return std::unexpected(name.error());
  out.name = name->value_or("");
  auto port = jf::optional_int(p, "port", path, 1, 65535);
  if (!port) return std::unexpected(port.error());
  if (*port) out.port = static_cast<std::int32_t>(**port);
  auto protocol = jf::optional_string(p, "protocol", path);
  if (!protocol) return std::unexpected(protocol.error());
  if (*protocol && !(*protocol)->empty()) out.protocol = **protocol;
  return out;
}

}  // namespace

Result<EndpointSlice> parse_endpoint_slice(const json& object) {
  EndpointSlice s;
  auto meta = parse_object_meta(object);
  if (!meta) return std::unexpected(meta.error());
  s.meta = std::move(*meta);
  if (auto it = s.meta.labels.find(std::string(kServiceNameLabel)); it != s.meta.labels.end()) {
    s.service_name = it->second;
  }
  auto type = jf::optional_string(object, "addressType", "");
  if (!type) return std::unexpected(type.error());
  s.address_type = type->value_or("");
  auto endpoints = jf::optional_array(object, "endpoints", "");
  if (!endpoints) return std::unexpected(endpoints.error());
  if (*endpoints != nullptr) {
    for (std::size_t i = 0; i < (*endpoints)->size(); ++i) {
      auto e = parse_endpoint((**endpoints)[i], fmt::format("endpoints[{}]", i));
      if (!e) return std::unexpected(e.error());
      s.endpoints.push_back(std::move(*e));
    }
  }
  auto ports = jf::optional_array(object, "ports", "");
  if (!ports) return std::unexpected(ports.error());
  if (*ports != nullptr) {
    for (std::size_t i = 0; i < (*ports)->size(); ++i) {
      auto p = parse_port((**ports)[i], fmt::format("ports[{}]", i));
      if (!p) return std::unexpected(p.error());
      s.ports.push_back(std::move(*p));
    }
  }
  return s;
}

}  // namespace berth::kube
