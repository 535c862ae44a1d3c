// The data plane for end-to-end tests: DataplaneCluster (test/support/dataplane_cluster.h,
// shared with the benchmarks) plus the manifests the tests apply with kubectl.
//
//   DataplaneCluster c(31000);                    // host ports 31000-31099
//   ASSERT_TRUE(c.start()) ...;
//   c.kubectl_apply(service_yaml("db", 3306) + slice_yaml("db-1", "db", {"127.0.0.2"}, echo.port()));
//   auto port = c.wait_for_host_port("db", 3306);  // the allocation annotation
//   greeting_at("127.0.0.1", *port, 2s) == "..."
//
// Tests that run at the same time must use different port blocks.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "support/allocation_checks.h"
#include "kube/resource.h"
#include "support/dataplane_cluster.h"

namespace berth::testing {

// How long an end-to-end test waits for berth and HAProxy to converge before it fails: far
// beyond the sub-second it takes here, so a slow CI machine is not a failure.
inline constexpr std::chrono::seconds kWait{30};

// A marked Service with one TCP port named "db" and optional extra annotations, as YAML.
inline std::string service_yaml(const std::string& name, int port,
                                const std::map<std::string, std::string>& annotations = {}) {
  std::string extra;
  for (const auto& [k, v] : annotations) extra += fmt::format("    {}: {}\n", k, nlohmann::json(v).dump());
  return fmt::format(R"(apiVersion: v1
kind: Service
metadata:
  name: {}
  annotations:
    ingress: haproxy-ingress
{}spec:
  ports:
  - {{name: db, port: {}, protocol: TCP, targetPort: {}}}
---
)",
                     name, extra, port, port);
}

// An EndpointSlice of `service` with one ready endpoint per address, all on `port`.
inline std::string slice_yaml(const std::string& name, const std::string& service,
                              const std::vector<std::string>& addresses, int port, const std::string& type = "IPv4") {
  std::string endpoints;
  for (const auto& a : addresses) {
    endpoints += fmt::format("- addresses: [\"{}\"]\n  conditions: {{ready: true}}\n", a);
  }
  return fmt::format(R"(apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {}
  labels:
    kubernetes.io/service-name: {}
addressType: {}
ports:
- {{name: db, port: {}, protocol: TCP}}
endpoints:
{}---
)",
                     name, service, type, port, endpoints.empty() ? "[]\n" : endpoints);
}

}  // namespace berth::testing
