// What HAProxy must run once berth has caught up with the cluster, derived from the API's
// objects alone (not from berth's code): one listener per allocated TCP port of a marked
// Service whose allow-sources is valid, and as its servers the ready endpoint addresses of the
// Service's EndpointSlices at the port of the same name. Compared with what the HAProxy
// workers report (haproxy/runtime_stats.h), it is the chaos run's "the running config equals
// the final state".
//
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "haproxy/runtime_stats.h"
#include "kube/api_client.h"

namespace berth::chaos {

struct ExpectedListener {
  std::string service;            // "ns/name"
  int service_port = 0;
  std::set<std::string> servers;  // "127.0.2.7:13306"
  bool operator==(const ExpectedListener&) const = default;
};

struct ClusterObjects {
  std::vector<nlohmann::json> services;
  std::vector<nlohmann::json> slices;
};

// Every object of `type` in every namespace (a paged LIST). Errors: the LIST's.
Result<std::vector<nlohmann::json>> list_everything(kube::ApiClient& api, const kube::ResourceType& type);

// Every Service and EndpointSlice of every namespace (paged LISTs). Errors: the LISTs'.
Result<ClusterObjects> read_cluster(kube::ApiClient& api);

// By host port. Allocations that are not canonical pool ports are left out (berth has not
// converged while they exist, which allocation_violations() reports).
std::map<int, ExpectedListener> expected_listeners(const ClusterObjects& cluster, int first_port, int last_port);

// One line per difference between what should run and what runs; empty when they agree.
std::vector<std::string> dataplane_differences(const std::map<int, ExpectedListener>& expected,
                                               const std::map<int, haproxy::ListenerRuntime>& running);

}  // namespace berth::chaos
