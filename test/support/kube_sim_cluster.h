// A running kube-sim plus a connected REST client stack, for end-to-end tests and benchmarks
// that talk to the Kubernetes API over real loopback HTTPS.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "kube/kube_client.h"
#include "kube/kube_config.h"
#include "support/kube_sim_process.h"

namespace berth::testing {

// A Service manifest with one TCP port and an optional annotation.
inline nlohmann::json service_manifest(const std::string& name, int port = 3306,
                                       const std::string& annotation_value = "") {
  nlohmann::json svc = {{"apiVersion", "v1"},
                        {"kind", "Service"},
                        {"metadata", {{"name", name}}},
                        {"spec", {{"ports", {{{"name", "db"}, {"port", port}, {"protocol", "TCP"}}}}}}};
  if (!annotation_value.empty()) svc["metadata"]["annotations"] = {{"example.com/note", annotation_value}};
  return svc;
}

// Starts kube-sim and connects a client with the kubeconfig it wrote. Tests ASSERT on
// `ready()` first.
class KubeSimCluster {
 public:
  explicit KubeSimCluster(KubeSimOptions options = {}) : sim_(std::move(options)) {
    auto started = sim_.start();
    if (!started) {
      error_ = started.error().describe();
      return;
    }
    auto config = kube::load_kubeconfig(sim_.kubeconfig_path());
    if (!config) {
      error_ = config.error().describe();
      return;
    }
    config_ = *config;
    client_ = connect({.qps = 0, .burst = 1});
  }

  // A new independent client stack (own connections, limiter and token source).
  std::unique_ptr<kube::KubeClient> connect(kube::KubeClientOptions options) {
    options.retry.backoff = {.initial = std::chrono::milliseconds(20), .max = std::chrono::milliseconds(500)};
    return kube::KubeClient::create(config_, options, SystemClock::instance());
  }

  bool ready() const { return client_ != nullptr; }
  const std::string& error() const { return error_; }
  KubeSimProcess& sim() { return sim_; }
  const kube::KubeConfig& config() const { return config_; }
  kube::RestClient& api() { return client_->api(); }

 private:
  KubeSimProcess sim_;
  kube::KubeConfig config_;
  std::string error_;
  std::unique_ptr<kube::KubeClient> client_;
};

}  // namespace berth::testing
