// Seeded random churn against the berth binary and kube-sim: users create, re-port, delete,
// pin, unmark and tamper with allocation annotations while berth runs; once they stop, berth
// must converge to exactly one valid, unique allocation per marked TCP port and none elsewhere.
//
// The seed is printed; BERTH_TEST_SEED=<n> replays a run's operations (timing still varies).
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "support/allocation_checks.h"
#include "kube/resource.h"
#include "support/berth_process.h"
#include "support/kube_sim_cluster.h"

namespace berth::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kFirst = 20000;
constexpr int kLast = 20999;
constexpr int kOperations = 400;
constexpr int kMaxServices = 60;
constexpr int kBurst = 25;  // operations between two convergence checks

class Churn {
 public:
  Churn(kube::ApiClient& api, std::uint64_t seed) : api_(api), rng_(seed) {}

  void step() {
    switch (pick(9)) {
      case 0:
      case 1: create(); break;
      case 2: change_ports(); break;
      case 3: remove(); break;
      case 4: pin(); break;
      case 5: toggle_mark(); break;
      case 6: tamper(); break;
      case 7: copy(); break;
      default: create(); break;
    }
  }
  int failures() const { return failures_; }
  const std::map<std::string, int>& counts() const { return counts_; }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  std::optional<std::string> any_service() {
    if (live_.empty()) return std::nullopt;
    auto it = live_.begin();
    std::advance(it, pick(static_cast<int>(live_.size())));
    return *it;
  }

  nlohmann::json random_ports() {
    static const int choices[] = {3306, 5432, 6379, 9000};
    nlohmann::json ports = nlohmann::json::array();
    for (int port : choices) {
      if (pick(2) == 0) ports.push_back({{"name", fmt::format("p{}", port)}, {"port", port}, {"protocol", "TCP"}});
    }
    if (pick(4) == 0) ports.push_back({{"name", "dns"}, {"port", 53}, {"protocol", "UDP"}});
    if (ports.empty()) ports.push_back({{"name", "p3306"}, {"port", 3306}, {"protocol", "TCP"}});
    return ports;
  }

  // A value a user might write: valid and free-ish, out of the pool, garbage, or one that
  // another Service probably holds.
  std::string random_value() {
    switch (pick(4)) {
      case 0: return std::to_string(kFirst + pick(kLast - kFirst + 1));
      case 1: return std::to_string(30000 + pick(1000));
      case 2: return "not-a-port";
      default: return std::to_string(kFirst + pick(20));  // early ports: likely held
    }
  }

  void patch(const std::string& name, const nlohmann::json& body, const char* what) {
    ++counts_[what];
    if (!api_.patch(kube::kServices, "default", name, kube::PatchType::kMerge, body)) ++failures_;
  }

  void create() {
    if (live_.size() >= kMaxServices) return remove();
    const std::string name = fmt::format("svc-{}", next_++);
    nlohmann::json annotations = {{"ingress", "haproxy-ingress"}};
    if (pick(5) == 0) annotations["haproxy-ingress/3306"] = random_value();
    nlohmann::json svc = {{"apiVersion", "v1"},
                          {"kind", "Service"},
                          {"metadata", {{"name", name}, {"annotations", annotations}}},
                          {"spec", {{"ports", random_ports()}}}};
    ++counts_["create"];
    if (api_.create(kube::kServices, "default", svc)) {
      live_.insert(name);
    } else {
      ++failures_;
    }
  }

  // A user copies another Service's manifest, allocation annotations included: its pinned
  // host ports are all held already.
  void copy() {
    auto source_name = any_service();
    if (!source_name || live_.size() >= kMaxServices) return create();
    auto source = api_.get(kube::kServices, "default", *source_name);
    if (!source) {
      ++failures_;
      return;
    }
    ++counts_["copy"];
    const std::string name = fmt::format("svc-{}", next_++);
    nlohmann::json svc = {{"apiVersion", "v1"},
                          {"kind", "Service"},
                          {"metadata", {{"name", name}, {"annotations", (*source)["metadata"].value("annotations", nlohmann::json::object())}}},
                          {"spec", {{"ports", (*source)["spec"]["ports"]}}}};
    if (api_.create(kube::kServices, "default", svc)) {
      live_.insert(name);
    } else {
      ++failures_;
    }
  }

  void change_ports() {
    if (auto name = any_service()) patch(*name, {{"spec", {{"ports", random_ports()}}}}, "change_ports");
  }

  void remove() {
    auto name = any_service();
    if (!name) return;
    ++counts_["delete"];
    if (!api_.remove(kube::kServices, "default", *name)) ++failures_;
    live_.erase(*name);
  }

  void pin() {
    if (auto name = any_service()) {
      patch(*name, {{"metadata", {{"annotations", {{"haproxy-ingress/" + std::to_string(pick(2) ? 3306 : 5432), random_value()}}}}}},
            "pin");
    }
  }

  void toggle_mark() {
    if (auto name = any_service()) {
      patch(*name, {{"metadata", {{"annotations", {{"ingress", pick(2) ? "haproxy-ingress" : "none"}}}}}},
            "toggle_mark");
    }
  }

  void tamper() {
    auto name = any_service();
    if (!name) return;
    const std::string key = "haproxy-ingress/" + std::to_string(pick(2) ? 3306 : 6379);
    nlohmann::json value = pick(3) == 0 ? nlohmann::json(nullptr) : nlohmann::json(random_value());
    patch(*name, {{"metadata", {{"annotations", {{key, value}}}}}}, "tamper");
  }

  kube::ApiClient& api_;
  std::mt19937_64 rng_;
  std::set<std::string> live_;
  int next_ = 0;
  int failures_ = 0;
  std::map<std::string, int> counts_;
};

TEST(AllocatorRandomKubeSim, SeededChurnConvergesToUniqueValidAllocations) {
  std::uint64_t seed = 20261123;
  if (const char* env = std::getenv("BERTH_TEST_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::printf("BERTH_TEST_SEED=%llu\n", static_cast<unsigned long long>(seed));
  RecordProperty("seed", std::to_string(seed));

  KubeSimCluster cluster;
  ASSERT_TRUE(cluster.ready()) << cluster.error();
  BerthProcess berth({"--kubeconfig", cluster.sim().kubeconfig_path().string(), "--dataplane=none", "--port-range",
                      fmt::format("{}-{}", kFirst, kLast), "--kube-api-qps", "0"});
  ASSERT_TRUE(berth.start());
  ASSERT_TRUE(berth.wait_for_log("port pool rebuilt", 60s)) << berth.log();

  Churn churn(cluster.api(), seed);
  std::vector<std::string> problems;
  auto converges = [&] {
    return eventually(
        [&] {
          auto all = read_allocations(cluster.api());
          if (!all) return false;
          problems = allocation_violations(*all, kFirst, kLast);
          return problems.empty();
        },
        60s, 100ms);
  };
  auto shown = [&] {
    std::string out;
    for (std::size_t i = 0; i < problems.size() && i < 20; ++i) out += problems[i] + "\n";
    return out;
  };
  // Bursts of operations, each followed by convergence: later bursts then copy and pin host
  // ports that berth has really handed out.
  for (int burst = 0; burst < kOperations / kBurst; ++burst) {
    for (int i = 0; i < kBurst; ++i) churn.step();
    ASSERT_TRUE(converges()) << "seed " << seed << ", burst " << burst << ", still wrong after 60 s:\n" << shown();
  }
  EXPECT_EQ(churn.failures(), 0);
  EXPECT_GT(berth.count_in_log("PortConflict"), 0u) << "the churn should have produced conflicts";
  EXPECT_GT(berth.count_in_log("InvalidAnnotation"), 0u) << "the churn should have produced invalid values";
  for (const auto& [what, n] : churn.counts()) RecordProperty(what, std::to_string(n));
  EXPECT_TRUE(berth.running());
}

}  // namespace
}  // namespace berth::testing
