#include "kube-sim/object_defaults.h"

namespace berth::kubesim {
namespace {

using nlohmann::json;

void set_if_absent(json& object, const char* field, json value) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) object[field] = std::move(value);
}

void default_service(json& svc) {
  json& spec = svc["spec"];
  if (spec.is_null()) spec = json::object();
  if (!spec.is_object()) return;
  set_if_absent(spec, "type", "ClusterIP");
  set_if_absent(spec, "sessionAffinity", "None");
  bool external = spec["type"] == "ExternalName";
  if (!external) {
    set_if_absent(spec, "ipFamilies", json::array({"IPv4"}));
    set_if_absent(spec, "ipFamilyPolicy", "SingleStack");
    set_if_absent(spec, "internalTrafficPolicy", "Cluster");
  }
  if (auto ports = spec.find("ports"); ports != spec.end() && ports->is_array()) {
    for (auto& port : *ports) {
      if (!port.is_object()) continue;
      set_if_absent(port, "protocol", "TCP");
      if (auto p = port.find("port"); p != port.end()) {
        auto t = port.find("targetPort");
        // targetPort 0 / "" means "same as port" in kube-apiserver's defaulting.
        if (t == port.end() || t->is_null() || (t->is_number() && *t == 0) || (t->is_string() && t->get<std::string>().empty())) {
          port["targetPort"] = *p;
        }
      }
    }
  }
  json& status = svc["status"];
  if (!status.is_object()) status = json::object();
  set_if_absent(status, "loadBalancer", json::object());
}

void default_namespace(json& ns) {
  json& spec = ns["spec"];
  if (!spec.is_object()) spec = json::object();
  set_if_absent(spec, "finalizers", json::array({"kubernetes"}));
  json& status = ns["status"];
  if (!status.is_object()) status = json::object();
  set_if_absent(status, "phase", "Active");
  // The namespace controller labels every namespace with its own name.
  auto name = ns["metadata"].find("name");
  if (name != ns["metadata"].end() && name->is_string()) {
    ns["metadata"]["labels"]["kubernetes.io/metadata.name"] = *name;
  }
}

void default_endpoint_slice(json& slice) {
  if (auto ports = slice.find("ports"); ports != slice.end() && ports->is_array()) {
    for (auto& port : *ports) {
      if (port.is_object()) set_if_absent(port, "protocol", "TCP");
    }
  }
}

}  // namespace

void apply_defaults(const kube::ResourceType& type, json& object) {
  if (!object.is_object()) return;
  if (type.kind == "Service") {
    default_service(object);
  } else if (type.kind == "Namespace") {
    default_namespace(object);
  } else if (type.kind == "EndpointSlice") {
    default_endpoint_slice(object);
  }
}

}  // namespace berth::kubesim
