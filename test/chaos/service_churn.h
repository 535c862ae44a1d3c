// The users of the chaos run: seeded random operations on marked Services and their
// EndpointSlices in namespace "default" — create, delete, change ports, change options (valid
// and invalid values), move endpoints, pin a host port, unmark and mark again, tamper with an
// allocation annotation (another Service's port, one outside the pool, garbage, removal), and
// copy another Service with its allocations. Services it creates are named "churn-<n>"; it
// never touches any other Service.
//
// Each churned Service has one EndpointSlice "<name>-1" naming every port the churn may give
// it (p3306 p5432 p6379 p9000), with 1-3 ready endpoints on 127.0.2.x: nothing listens there,
// so health checks fail fast, but the servers HAProxy runs can be compared with the slice.
//
// Failed API calls (kube-sim is being faulted) are counted, not retried: a lost operation is
// just one fewer operation, and the final state is read back from the API, never assumed.
//
// Thread-safety: one thread drives an instance; user_writes() is shared with the sampler.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chaos/user_writes.h"
#include "kube/api_client.h"

namespace berth::chaos {

// The option values the churn writes. An invalid `allow-sources` makes a Service unservable
// (docs/dataplane.md); every other invalid value only falls back to its default.
struct ChurnOptionValues {
  static const std::map<std::string, std::vector<std::string>>& valid();
  static const std::map<std::string, std::vector<std::string>>& invalid();
  // Whether a Service with this allow-sources annotation value is served.
  static bool servable_allow_sources(const std::string& value);
};

class ServiceChurn {
 public:
  ServiceChurn(kube::ApiClient& api, std::uint64_t seed, int first_port, int last_port, UserWrites& writes);

  // Creates `count` Services with slices (retrying each a few times: this is the setup, before
  // any fault). False when one could not be created.
  bool populate(int count);
  // One random operation; keeps about `target` Services alive.
  void step(int target);

  const std::map<std::string, int>& counts() const { return counts_; }
  int failures() const { return failures_; }
  std::size_t live() const { return live_.size(); }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  std::string any_live();
  nlohmann::json random_ports();
  nlohmann::json random_options();
  nlohmann::json slice_for(const std::string& name);
  std::string random_host_port_value();
  bool ok(bool succeeded, const char* what);

  bool create();
  // Creates `name`'s EndpointSlice, then the Service, recording the allocation values it carries
  // (`written`) as the user's; true when the Service was created.
  bool create_with_slice(const std::string& name, const nlohmann::json& service,
                         const std::map<std::string, std::optional<std::string>>& written);
  void remove();
  void change_ports();
  void change_options();
  void move_endpoints();
  void pin();
  void toggle_mark();
  void tamper();
  void copy();

  kube::ApiClient& api_;
  std::mt19937_64 rng_;
  int first_port_, last_port_;
  UserWrites& writes_;
  std::set<std::string> live_;
  int next_ = 0;
  int failures_ = 0;
  std::map<std::string, int> counts_;
};

}  // namespace berth::chaos
