#include "kube-sim/object_validation.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "kube-sim/served_resource.h"
#include "kube/name_validation.h"

namespace berth::kubesim {
namespace {

using kube::dns1035_label_error;
using kube::dns1123_label_error;
using kube::dns1123_subdomain_error;
using kube::label_value_error;
using kube::qualified_name_error;

using nlohmann::json;

constexpr std::size_t kTotalAnnotationSizeLimit = 256 * 1024;


// The way kube-apiserver prints a rejected value: strings quoted, numbers bare.
std::string shown(const json& v) { return v.dump(); }

std::string invalid(std::string_view path, const json& value, std::string_view detail) {
  return fmt::format("{}: Invalid value: {}: {}", path, shown(value), detail);
}
std::string required(std::string_view path) { return fmt::format("{}: Required value", path); }
std::string required(std::string_view path, std::string_view detail) {
  return fmt::format("{}: Required value: {}", path, detail);
}
std::string unsupported(std::string_view path, const json& value, const std::vector<std::string>& allowed) {
  std::string list;
  for (std::size_t i = 0; i < allowed.size(); ++i) list += fmt::format("{}\"{}\"", i ? ", " : "", allowed[i]);
  return fmt::format("{}: Unsupported value: {}: supported values: {}", path, shown(value), list);
}

void validate_string_map(const json& meta, const char* field, bool labels, std::vector<std::string>& errors) {
  auto it = meta.find(field);
  if (it == meta.end() || !it->is_object()) return;
  std::size_t total = 0;
  for (const auto& [k, v] : it->items()) {
    std::string path = fmt::format("metadata.{}", field);
    if (auto e = qualified_name_error(k); !e.empty()) errors.push_back(invalid(path, k, e));
    if (!v.is_string()) continue;
    const std::string& value = v.get_ref<const std::string&>();
    total += k.size() + value.size();
    if (labels) {
      if (auto e = label_value_error(value); !e.empty()) errors.push_back(invalid(path, value, e));
    }
  }
  if (!labels && total > kTotalAnnotationSizeLimit) {
    errors.push_back(fmt::format("metadata.annotations: Too long: must have at most {} bytes", kTotalAnnotationSizeLimit));
  }
}

// kube-apiserver's path.IsValidPathSegmentName, which the RBAC kinds' names follow.
std::string path_segment_error(std::string_view name) {
  if (name == "." || name == "..") return fmt::format("may not be '{}'", name);
  for (std::string_view forbidden : {"/", "%"}) {
    if (name.find(forbidden) != std::string_view::npos) return fmt::format("may not contain '{}'", forbidden);
  }
  return "";
}

std::string name_error(NameRule rule, std::string_view name) {
  switch (rule) {
    case NameRule::kDns1123Subdomain: return dns1123_subdomain_error(name);
    case NameRule::kDns1123Label: return dns1123_label_error(name);
    case NameRule::kDns1035Label: return dns1035_label_error(name);
    case NameRule::kPathSegment: return path_segment_error(name);
  }
  return "";
}

void validate_meta(const kube::ResourceType& type, const json& object, std::vector<std::string>& errors) {
  const json& meta = object.at("metadata");
  std::string name = meta.value("name", "");
  if (name.empty()) {
    errors.push_back(required("metadata.name", "name or generateName is required"));
  } else {
    const ServedResource* row = served_resource(type);
    if (auto e = name_error(row != nullptr ? row->name_rule : NameRule::kDns1123Subdomain, name); !e.empty()) {
      errors.push_back(invalid("metadata.name", name, e));
    }
  }
  validate_string_map(meta, "labels", true, errors);
  validate_string_map(meta, "annotations", false, errors);
}

bool valid_port_number(const json& v) { return v.is_number_integer() && v.get<std::int64_t>() >= 1 && v.get<std::int64_t>() <= 65535; }

// An IANA service name: at most 15 characters of [a-z0-9-], at least one letter, no "--", not
// starting or ending with '-'.
bool is_iana_svc_name(std::string_view s) {
  if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-' || s.find("--") != std::string_view::npos) {
    return false;
  }
  bool letter = false;
  for (char c : s) {
    if (c >= 'a' && c <= 'z') letter = true;
    else if (!(c >= '0' && c <= '9') && c != '-') return false;
  }
  return letter;
}

void validate_service(const json& object, std::vector<std::string>& errors) {
  auto spec_it = object.find("spec");
  if (spec_it == object.end() || !spec_it->is_object()) {
    errors.push_back(required("spec"));
    return;
  }
  const json& spec = *spec_it;
  const json type = spec.value("type", json("ClusterIP"));
  static const std::vector<std::string> kTypes = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort"};
  if (!type.is_string() || std::find(kTypes.begin(), kTypes.end(), type.get<std::string>()) == kTypes.end()) {
    errors.push_back(unsupported("spec.type", type, kTypes));
    return;
  }
  bool external = type == "ExternalName";
  bool headless = spec.value("clusterIP", "") == "None";
  if (external) {
    std::string ext = spec.value("externalName", "");
    if (ext.empty()) errors.push_back(required("spec.externalName"));
  }
  const json affinity = spec.value("sessionAffinity", json("None"));
  if (affinity != "None" && affinity != "ClientIP") {
    errors.push_back(unsupported("spec.sessionAffinity", affinity, {"ClientIP", "None"}));
  }
  auto ports_it = spec.find("ports");
  if (ports_it == spec.end() || ports_it->is_null() || (ports_it->is_array() && ports_it->empty())) {
    if (!headless && !external) errors.push_back(required("spec.ports"));
    return;
  }
  if (!ports_it->is_array()) {
    errors.push_back(invalid("spec.ports", *ports_it, "must be a list"));
    return;
  }
  const json& ports = *ports_it;
  std::set<std::string> names;
  std::set<std::pair<std::int64_t, std::string>> port_protocols;
  for (std::size_t i = 0; i < ports.size(); ++i) {
    std::string path = fmt::format("spec.ports[{}]", i);
    const json& p = ports[i];
    if (!p.is_object()) {
      errors.push_back(invalid(path, p, "must be an object"));
      continue;
    }
    const json name = p.value("name", json(""));
    if (!name.is_string()) {
      errors.push_back(invalid(path + ".name", name, "must be a string"));
    } else if (name.get<std::string>().empty()) {
      if (ports.size() > 1) errors.push_back(required(path + ".name"));
    } else {
      if (auto e = dns1123_label_error(name.get<std::string>()); !e.empty()) {
        errors.push_back(invalid(path + ".name", name, e));
      }
      if (!names.insert(name.get<std::string>()).second) {
        errors.push_back(fmt::format("{}.name: Duplicate value: {}", path, shown(name)));
      }
    }
    auto port = p.find("port");
    if (port == p.end() || port->is_null()) {
      errors.push_back(required(path + ".port"));
    } else if (!valid_port_number(*port)) {
      errors.push_back(invalid(path + ".port", *port, "must be between 1 and 65535, inclusive"));
    }
    const json protocol = p.value("protocol", json("TCP"));
    static const std::vector<std::string> kProtocols = {"SCTP", "TCP", "UDP"};
    if (!protocol.is_string() ||
        std::find(kProtocols.begin(), kProtocols.end(), protocol.get<std::string>()) == kProtocols.end()) {
      errors.push_back(unsupported(path + ".protocol", protocol, kProtocols));
    } else if (port != p.end() && port->is_number_integer()) {
      if (!port_protocols.insert({port->get<std::int64_t>(), protocol.get<std::string>()}).second) {
        errors.push_back(fmt::format("{}: Duplicate value: {{port: {}, protocol: {}}}", path, port->dump(),
                                     protocol.get<std::string>()));
      }
    }
    if (auto t = p.find("targetPort"); t != p.end() && !t->is_null()) {
      if (t->is_number_integer()) {
        if (!valid_port_number(*t)) {
          errors.push_back(invalid(path + ".targetPort", *t, "must be between 1 and 65535, inclusive"));
        }
      } else if (!t->is_string() || !is_iana_svc_name(t->get<std::string>())) {
        errors.push_back(invalid(path + ".targetPort", *t,
                                 "must contain at least one letter (a-z), at most 15 characters of [-a-z0-9], and "
                                 "no consecutive hyphens"));
      }
    }
    if (auto np = p.find("nodePort"); np != p.end() && !np->is_null() && !(np->is_number_integer() && *np == 0)) {
      if (type == "ClusterIP" || external) {
        errors.push_back(fmt::format("{}.nodePort: Forbidden: may not be used when `type` is '{}'", path,
                                     type.get<std::string>()));
      } else if (!valid_port_number(*np)) {
        errors.push_back(invalid(path + ".nodePort", *np, "must be between 1 and 65535, inclusive"));
      }
    }
  }
}

void validate_endpoint_slice(const json& object, std::vector<std::string>& errors) {
  static const std::vector<std::string> kTypes = {"FQDN", "IPv4", "IPv6"};
  auto at = object.find("addressType");
  if (at == object.end() || at->is_null() || (at->is_string() && at->get<std::string>().empty())) {
    errors.push_back(required("addressType"));
  } else if (!at->is_string() || std::find(kTypes.begin(), kTypes.end(), at->get<std::string>()) == kTypes.end()) {
    errors.push_back(unsupported("addressType", *at, kTypes));
  }
  if (auto eps = object.find("endpoints"); eps != object.end() && eps->is_array()) {
    for (std::size_t i = 0; i < eps->size(); ++i) {
      const json& ep = (*eps)[i];
      std::string path = fmt::format("endpoints[{}]", i);
      auto addrs = ep.is_object() ? ep.find("addresses") : ep.end();
      if (!ep.is_object() || addrs == ep.end() || !addrs->is_array() || addrs->empty()) {
        errors.push_back(required(path + ".addresses", "must contain at least 1 address"));
      } else if (addrs->size() > 100) {
        errors.push_back(fmt::format("{}.addresses: Too many: {}: must have at most 100 items", path, addrs->size()));
      }
    }
  } else if (eps != object.end() && !eps->is_null()) {
    errors.push_back(invalid("endpoints", *eps, "must be a list"));
  }
  if (auto ports = object.find("ports"); ports != object.end() && ports->is_array()) {
    for (std::size_t i = 0; i < ports->size(); ++i) {
      const json& p = (*ports)[i];
      if (!p.is_object()) continue;
      if (auto port = p.find("port"); port != p.end() && !port->is_null()) {
        if (!port->is_number_integer() || *port < 0 || *port > 65535) {
          errors.push_back(invalid(fmt::format("ports[{}].port", i), *port, "must be between 0 and 65535, inclusive"));
        }
      }
    }
  }
}

}  // namespace


std::vector<std::string> validate_object(const kube::ResourceType& type, const json& object) {
  std::vector<std::string> errors;
  validate_meta(type, object, errors);
  if (type.kind == "Service") {
    validate_service(object, errors);
  } else if (type.kind == "EndpointSlice") {
    validate_endpoint_slice(object, errors);
  }
  return errors;
}

Error invalid_error(const kube::ResourceType& type, std::string_view name, const std::vector<std::string>& errors) {
  std::string joined;
  if (errors.size() == 1) {
    joined = errors.front();
  } else {
    joined = "[";
    for (std::size_t i = 0; i < errors.size(); ++i) joined += (i ? ", " : "") + errors[i];
    joined += "]";
  }
  return Error{ErrorCode::kInvalid, fmt::format("{} \"{}\" is invalid: {}", type.kind, name, joined), 422};
}

}  // namespace berth::kubesim
