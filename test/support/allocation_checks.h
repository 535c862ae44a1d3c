// What end-to-end tests of the allocator read back from the cluster: every Service's
// allocation annotations, and the invariants berth promises about them.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/api_client.h"
#include "kube/resource.h"
#include "support/eventually.h"

namespace berth::testing {

// A marked Service manifest (`ingress: haproxy-ingress`) with the given TCP ports.
inline nlohmann::json marked_service(const std::string& name, const std::vector<int>& ports,
                                     const std::map<std::string, std::string>& extra_annotations = {}) {
  nlohmann::json spec_ports = nlohmann::json::array();
  for (int port : ports) spec_ports.push_back({{"name", "p" + std::to_string(port)}, {"port", port}, {"protocol", "TCP"}});
  nlohmann::json annotations = {{"ingress", "haproxy-ingress"}};
  for (const auto& [k, v] : extra_annotations) annotations[k] = v;
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"annotations", annotations}}},
          {"spec", {{"ports", spec_ports}}}};
}

struct ServiceAllocations {
  bool marked = false;
  std::set<int> tcp_ports;              // spec ports with protocol TCP
  std::map<std::string, std::string> allocations;  // haproxy-ingress/<n> → value, as found
};

// "namespace/name" → what the Service says. Errors: those of the LIST.
inline Result<std::map<std::string, ServiceAllocations>> read_allocations(kube::ApiClient& api) {
  std::map<std::string, ServiceAllocations> out;
  kube::ListOptions options{.limit = 500};
  while (true) {
    auto page = api.list(kube::kServices, "", options);
    if (!page) return std::unexpected(page.error());
    for (const nlohmann::json& item : page->items) {
      const auto& meta = item["metadata"];
      ServiceAllocations s;
      const nlohmann::json annotations = meta.value("annotations", nlohmann::json::object());
      s.marked = annotations.value("ingress", "") == "haproxy-ingress";
      for (const auto& [k, v] : annotations.items()) {
        const std::string rest = k.starts_with("haproxy-ingress/") ? k.substr(16) : "";
        if (!rest.empty() && rest.find_first_not_of("0123456789") == std::string::npos) s.allocations[k] = v;
      }
      for (const auto& port : item["spec"].value("ports", nlohmann::json::array())) {
        if (port.value("protocol", "TCP") == "TCP") s.tcp_ports.insert(port["port"].get<int>());
      }
      out[meta.value("namespace", "") + "/" + meta.value("name", "")] = std::move(s);
    }
    if (page->continue_token.empty()) break;
    options.continue_token = page->continue_token;
  }
  return out;
}

// Every way the cluster breaks berth's promises, one line each; empty when it keeps them all:
// each marked TCP port has exactly one allocation, in [first, last]; no host port is held twice;
// unmarked Services and non-TCP ports have none.
inline std::vector<std::string> allocation_violations(const std::map<std::string, ServiceAllocations>& services,
                                                      int first, int last) {
  std::vector<std::string> problems;
  std::map<int, std::string> holders;
  for (const auto& [key, s] : services) {
    std::set<std::string> expected;
    if (s.marked) {
      for (int port : s.tcp_ports) expected.insert("haproxy-ingress/" + std::to_string(port));
    }
    for (const std::string& k : expected) {
      if (!s.allocations.contains(k)) problems.push_back(key + ": no " + k);
    }
    for (const auto& [k, v] : s.allocations) {
      if (!expected.contains(k)) {
        problems.push_back(key + ": unexpected " + k + "=" + v);
        continue;
      }
      int host = 0;
      try {
        host = std::stoi(v);
      } catch (...) {
        problems.push_back(key + ": " + k + "=" + v + " is not a number");
        continue;
      }
      if (host < first || host > last) problems.push_back(key + ": " + k + "=" + v + " outside the pool");
      auto [it, inserted] = holders.emplace(host, key);
      if (!inserted) problems.push_back("host port " + v + " held by " + it->second + " and " + key);
    }
  }
  return problems;
}

}  // namespace berth::testing
