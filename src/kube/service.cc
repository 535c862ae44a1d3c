#include "kube/service.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kube/json_field.h"

namespace berth::kube {
namespace {

using nlohmann::json;
namespace jf = json_field;

Result<ServicePort> parse_port(const json& p, const std::string& path) {
  if (!p.is_object()) return make_error(ErrorCode::kParse, fmt::format("{} is not an object", path));
  ServicePort port;
  auto name = jf::optional_string(p, "name", path);
  if (!name) return std::unexpected(name.error());
  port.name = name->value_or("");
  auto number = jf::optional_int(p, "port", path, 1, 65535);
  if (!number) return std::unexpected(number.error());
  if (!*number) return make_error(ErrorCode::kParse, fmt::format("{}.port is missing", path));
  port.port = static_cast<std::int32_t>(**number);
  auto protocol = jf::optional_string(p, "protocol", path);
  if (!protocol) return std::unexpected(protocol.error());
  if (*protocol && !(*protocol)->empty()) port.protocol = **protocol;
  const json* target = jf::find(p, "targetPort");
  if (target == nullptr) {
    port.target_port.value = port.port;
  } else if (target->is_string()) {
    port.target_port.value = target->get<std::string>();
  } else {
    auto t = jf::optional_int(p, "targetPort", path, 0, 65535);
    if (!t) return std::unexpected(t.error());
    // targetPort 0 is what an unset int field serialises as; the API server means "= port".
    port.target_port.value = **t == 0 ? port.port : static_cast<std::int32_t>(**t);
  }
  return port;
}

}  // namespace

Result<Service> parse_service(const json& object) {
  Service s;
  auto meta = parse_object_meta(object);
  if (!meta) return std::unexpected(meta.error());
  s.meta = std::move(*meta);
  auto spec = jf::optional_object(object, "spec", "");
  if (!spec) return std::unexpected(spec.error());
  if (*spec == nullptr) return s;
  const json& sp = **spec;
  auto type = jf::optional_string(sp, "type", "spec");
  if (!type) return std::unexpected(type.error());
  if (*type && !(*type)->empty()) s.type = **type;
  auto ip = jf::optional_string(sp, "clusterIP", "spec");
  if (!ip) return std::unexpected(ip.error());
  s.cluster_ip = ip->value_or("");
  auto selector = jf::string_map(sp, "selector", "spec");
  if (!selector) return std::unexpected(selector.error());
  s.selector = std::move(*selector);
  auto ports = jf::optional_array(sp, "ports", "spec");
  if (!ports) return std::unexpected(ports.error());
  if (*ports != nullptr) {
    for (std::size_t i = 0; i < (*ports)->size(); ++i) {
      auto port = parse_port((**ports)[i], fmt::format("spec.ports[{}]", i));
      if (!port) return std::unexpected(port.error());
      s.ports.push_back(std::move(*port));
    }
  }
  return s;
}

}  // namespace berth::kube
