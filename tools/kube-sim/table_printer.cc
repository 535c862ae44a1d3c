#include "kube-sim/table_printer.h"

#include <algorithm>

#include <fmt/format.h>

#include "kube/micro_time.h"

namespace berth::kubesim {
namespace {

using nlohmann::json;

struct Column {
  std::string_view name;
  std::string_view description;
  int priority = 0;  // 1: only with -o wide
};

std::string text(const json& object, const json::json_pointer& pointer, std::string_view fallback = "<none>") {
  if (!object.contains(pointer)) return std::string(fallback);
  const json& value = object.at(pointer);
  if (value.is_string()) return value.get<std::string>().empty() ? std::string(fallback) : value.get<std::string>();
  if (value.is_number() || value.is_boolean()) return value.dump();
  return std::string(fallback);
}

std::string age_of(const json& object, const json::json_pointer& pointer, std::chrono::system_clock::time_point now) {
  if (!object.contains(pointer) || !object.at(pointer).is_string()) return "<unknown>";
  auto t = kube::parse_time(object.at(pointer).get<std::string>());
  if (!t) return "<unknown>";
  return human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - *t));
}

std::string join(const std::vector<std::string>& parts, std::string_view none = "<none>") {
  if (parts.empty()) return std::string(none);
  return fmt::format("{}", fmt::join(parts, ","));
}

std::string selector_text(const json& object) {
  std::vector<std::string> parts;
  if (object.contains("/spec/selector"_json_pointer) && object["spec"]["selector"].is_object()) {
    for (const auto& [k, v] : object["spec"]["selector"].items()) {
      parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
    }
  }
  return join(parts);
}

std::string service_ports(const json& object) {
  std::vector<std::string> parts;
  if (object.contains("/spec/ports"_json_pointer) && object["spec"]["ports"].is_array()) {
    for (const auto& port : object["spec"]["ports"]) {
      std::string part = port.contains("port") ? port["port"].dump() : "?";
      if (port.contains("nodePort")) part += ":" + port["nodePort"].dump();
      part += "/" + port.value("protocol", std::string("TCP"));
      parts.push_back(part);
    }
  }
  return join(parts);
}

std::string external_ips(const json& object) {
  std::vector<std::string> ips;
  if (object.contains("/status/loadBalancer/ingress"_json_pointer) &&
      object["status"]["loadBalancer"]["ingress"].is_array()) {
    for (const auto& ingress : object["status"]["loadBalancer"]["ingress"]) {
      if (ingress.contains("ip")) ips.push_back(ingress["ip"].get<std::string>());
      else if (ingress.contains("hostname")) ips.push_back(ingress["hostname"].get<std::string>());
    }
  }
  if (object.contains("/spec/externalIPs"_json_pointer) && object["spec"]["externalIPs"].is_array()) {
    for (const auto& ip : object["spec"]["externalIPs"]) ips.push_back(ip.get<std::string>());
  }
  if (ips.empty() && text(object, "/spec/type"_json_pointer, "") == "LoadBalancer") return "<pending>";
  return join(ips);
}

std::string slice_ports(const json& object) {
  std::vector<std::string> parts;
  if (object.contains("ports") && object["ports"].is_array()) {
    for (const auto& port : object["ports"]) {
      if (port.contains("port")) parts.push_back(port["port"].dump());
    }
  }
  return join(parts, "<unset>");
}

std::string slice_endpoints(const json& object) {
  std::vector<std::string> addresses;
  if (object.contains("endpoints") && object["endpoints"].is_array()) {
    for (const auto& endpoint : object["endpoints"]) {
      if (!endpoint.contains("addresses") || !endpoint["addresses"].is_array()) continue;
      for (const auto& a : endpoint["addresses"]) addresses.push_back(a.get<std::string>());
    }
  }
  if (addresses.size() <= 3) return join(addresses, "<unset>");
  std::size_t more = addresses.size() - 3;
  addresses.resize(3);
  return fmt::format("{} + {} more...", join(addresses), more);
}

std::vector<Column> columns_for(const kube::ResourceType& type) {
  constexpr std::string_view kName = "Name must be unique within a namespace.";
  constexpr std::string_view kAge = "CreationTimestamp is a timestamp representing the server time when this object was created.";
  if (type.kind == "Service") {
    return {{"Name", kName},
            {"Type", "Type determines how the Service is exposed."},
            {"Cluster-IP", "ClusterIP is the IP address of the service."},
            {"External-IP", "External IPs of the service."},
            {"Port(s)", "The ports exposed by the service."},
            {"Age", kAge},
            {"Selector", "Route service traffic to pods with label keys and values matching this selector.", 1}};
  }
  if (type.kind == "Namespace") return {{"Name", kName}, {"Status", "The status of the namespace"}, {"Age", kAge}};
  if (type.kind == "Event") {
    return {{"Last Seen", "Time since the event was last seen."},
            {"Type", "Type of this event (Normal, Warning)."},
            {"Reason", "Short, machine understandable string that gives the reason for the transition."},
            {"Object", "The object that this event is about."},
            {"Message", "A human-readable description of the status of this operation."}};
  }
  if (type.kind == "EndpointSlice") {
    return {{"Name", kName},
            {"AddressType", "Type of address carried by this EndpointSlice."},
            {"Ports", "Ports in this EndpointSlice."},
            {"Endpoints", "Endpoints in this EndpointSlice."},
            {"Age", kAge}};
  }
  if (type.kind == "Lease") return {{"Name", kName}, {"Holder", "The holder of the lease."}, {"Age", kAge}};
  return {{"Name", kName}, {"Age", kAge}};
}

json cells_for(const kube::ResourceType& type, const json& o, std::chrono::system_clock::time_point now) {
  const auto name = text(o, "/metadata/name"_json_pointer, "");
  const auto age = age_of(o, "/metadata/creationTimestamp"_json_pointer, now);
  if (type.kind == "Service") {
    return {name,           text(o, "/spec/type"_json_pointer, "ClusterIP"), text(o, "/spec/clusterIP"_json_pointer),
            external_ips(o), service_ports(o), age, selector_text(o)};
  }
  if (type.kind == "Namespace") return {name, text(o, "/status/phase"_json_pointer, "Active"), age};
  if (type.kind == "Event") {
    std::string seen = age;
    for (auto pointer : {"/lastTimestamp"_json_pointer, "/eventTime"_json_pointer}) {
      if (o.contains(pointer) && o.at(pointer).is_string()) {
        seen = age_of(o, pointer, now);
        break;
      }
    }
    std::string kind = text(o, "/involvedObject/kind"_json_pointer, "");
    std::transform(kind.begin(), kind.end(), kind.begin(), [](unsigned char c) { return std::tolower(c); });
    return {seen, text(o, "/type"_json_pointer, ""), text(o, "/reason"_json_pointer, ""),
            kind + "/" + text(o, "/involvedObject/name"_json_pointer, ""), text(o, "/message"_json_pointer, "")};
  }
  if (type.kind == "EndpointSlice") {
    return {name, text(o, "/addressType"_json_pointer, ""), slice_ports(o), slice_endpoints(o), age};
  }
  if (type.kind == "Lease") return {name, text(o, "/spec/holderIdentity"_json_pointer), age};
  return {name, age};
}

}  // namespace

bool accepts_table(std::string_view accept) {
  return accept.find("as=Table") != std::string_view::npos && accept.find("g=meta.k8s.io") != std::string_view::npos;
}

std::string human_duration(std::chrono::seconds age) {
  long long s = age.count();
  if (s < 0) return "0s";
  if (s < 120) return fmt::format("{}s", s);
  long long m = s / 60;
  if (m < 10) return s % 60 == 0 ? fmt::format("{}m", m) : fmt::format("{}m{}s", m, s % 60);
  if (m < 180) return fmt::format("{}m", m);
  long long h = m / 60;
  if (h < 8) return m % 60 == 0 ? fmt::format("{}h", h) : fmt::format("{}h{}m", h, m % 60);
  if (h < 48) return fmt::format("{}h", h);
  long long d = h / 24;
  if (d < 8) return h % 24 == 0 ? fmt::format("{}d", d) : fmt::format("{}d{}h", d, h % 24);
  if (d < 730) return fmt::format("{}d", d);
  long long y = d / 365;
  if (y < 8) return d % 365 == 0 ? fmt::format("{}y", y) : fmt::format("{}y{}d", y, d % 365);
  return fmt::format("{}y", y);
}

json make_table(const kube::ResourceType& type, const std::vector<json>& objects,
                std::chrono::system_clock::time_point now, std::string_view resource_version,
                std::string_view continue_token) {
  json columns = json::array();
  for (const auto& c : columns_for(type)) {
    columns.push_back({{"name", c.name},
                       {"type", "string"},
                       {"format", c.name == "Name" ? "name" : ""},
                       {"description", c.description},
                       {"priority", c.priority}});
  }
  json rows = json::array();
  for (const auto& object : objects) rows.push_back({{"cells", cells_for(type, object, now)}, {"object", object}});
  json meta = json::object();
  if (!resource_version.empty()) meta["resourceVersion"] = resource_version;
  if (!continue_token.empty()) meta["continue"] = continue_token;
  return {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", meta}, {"columnDefinitions", columns},
          {"rows", rows}};
}

}  // namespace berth::kubesim
