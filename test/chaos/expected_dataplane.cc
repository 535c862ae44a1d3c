#include "chaos/expected_dataplane.h"

#include <fmt/format.h>

#include "chaos/service_churn.h"
#include "kube/resource.h"

namespace berth::chaos {
namespace {

// "26735" → 26735; nullopt for anything berth would not have written.
std::optional<int> canonical_port(const std::string& text) {
  if (text.empty() || text.size() > 5 || text[0] == '0') return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return std::stoi(text);
}

std::string object_key(const nlohmann::json& object) {
  const auto& meta = object["metadata"];
  return meta.value("namespace", "") + "/" + meta.value("name", "");
}

// "ns/service" → "port name" → servers.
using ServersByPortName = std::map<std::string, std::map<std::string, std::set<std::string>>>;

ServersByPortName servers_of_slices(const std::vector<nlohmann::json>& slices) {
  ServersByPortName out;
  for (const auto& slice : slices) {
    const auto& meta = slice["metadata"];
    const auto labels = meta.value("labels", nlohmann::json::object());
    const std::string service = labels.value("kubernetes.io/service-name", "");
    if (service.empty() || slice.value("addressType", "") != "IPv4") continue;
    auto& ports = out[meta.value("namespace", "") + "/" + service];
    for (const auto& port : slice.value("ports", nlohmann::json::array())) {
      auto& servers = ports[port.value("name", "")];
      for (const auto& endpoint : slice.value("endpoints", nlohmann::json::array())) {
        const auto conditions = endpoint.value("conditions", nlohmann::json::object());
        if (conditions.contains("ready") && conditions["ready"].is_boolean() && !conditions["ready"].get<bool>()) continue;
        for (const auto& address : endpoint.value("addresses", nlohmann::json::array())) {
          servers.insert(fmt::format("{}:{}", address.get<std::string>(), port.value("port", 0)));
        }
      }
    }
  }
  return out;
}

}  // namespace

Result<std::vector<nlohmann::json>> list_everything(kube::ApiClient& api, const kube::ResourceType& type) {
  std::vector<nlohmann::json> out;
  kube::ListOptions options{.limit = 500};
  while (true) {
    auto page = api.list(type, "", options);
    if (!page) return std::unexpected(page.error());
    for (auto& item : page->items) out.push_back(std::move(item));
    if (page->continue_token.empty()) return out;
    options.continue_token = page->continue_token;
  }
}

Result<ClusterObjects> read_cluster(kube::ApiClient& api) {
  auto services = list_everything(api, kube::kServices);
  if (!services) return std::unexpected(services.error());
  auto slices = list_everything(api, kube::kEndpointSlices);
  if (!slices) return std::unexpected(slices.error());
  return ClusterObjects{.services = std::move(*services), .slices = std::move(*slices)};
}

std::map<int, ExpectedListener> expected_listeners(const ClusterObjects& cluster, int first_port, int last_port) {
  const ServersByPortName servers = servers_of_slices(cluster.slices);
  std::map<int, ExpectedListener> out;
  for (const auto& service : cluster.services) {
    const auto annotations = service["metadata"].value("annotations", nlohmann::json::object());
    if (annotations.value("ingress", "") != "haproxy-ingress") continue;
    if (annotations.contains("haproxy-ingress/allow-sources") &&
        !ChurnOptionValues::servable_allow_sources(annotations.value("haproxy-ingress/allow-sources", ""))) {
      continue;
    }
    const std::string key = object_key(service);
    for (const auto& port : service["spec"].value("ports", nlohmann::json::array())) {
      if (port.value("protocol", "TCP") != "TCP") continue;
      const int service_port = port.value("port", 0);
      const auto value = annotations.find(fmt::format("haproxy-ingress/{}", service_port));
      if (value == annotations.end() || !value->is_string()) continue;
      auto host_port = canonical_port(value->get<std::string>());
      if (!host_port || *host_port < first_port || *host_port > last_port) continue;
      ExpectedListener listener{.service = key, .service_port = service_port, .servers = {}};
      if (auto ports = servers.find(key); ports != servers.end()) {
        if (auto named = ports->second.find(port.value("name", "")); named != ports->second.end()) {
          listener.servers = named->second;
        }
      }
      out.emplace(*host_port, std::move(listener));
    }
  }
  return out;
}

std::vector<std::string> dataplane_differences(const std::map<int, ExpectedListener>& expected,
                                               const std::map<int, haproxy::ListenerRuntime>& running) {
  std::vector<std::string> out;
  for (const auto& [host_port, listener] : expected) {
    auto it = running.find(host_port);
    if (it == running.end()) {
      out.push_back(fmt::format("{} port {}: no listener on host port {}", listener.service, listener.service_port, host_port));
      continue;
    }
    std::set<std::string> servers;
    for (const auto& server : it->second.servers) servers.insert(server.address);
    if (servers != listener.servers) {
      out.push_back(fmt::format("{} port {} (host port {}): servers [{}], expected [{}]", listener.service,
                                listener.service_port, host_port, fmt::join(servers, " "), fmt::join(listener.servers, " ")));
    }
  }
  for (const auto& [host_port, runtime] : running) {
    if (!expected.contains(host_port)) out.push_back(fmt::format("host port {}: a listener no Service asks for", host_port));
  }
  return out;
}

}  // namespace berth::chaos
