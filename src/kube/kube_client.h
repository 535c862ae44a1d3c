// The whole client stack for one API server, built from a KubeConfig and owned in one place:
// CurlTransport → TokenSource → RequestRateLimiter → RestClient. The composition root, tests
// and benchmarks use this instead of wiring the four by hand.
//
//   auto client = KubeClient::create(*config, {.qps = 20, .burst = 40}, SystemClock::instance());
//   Reflector<Service> r(client->api(), kServices, ...);
//
// Thread-safety: api() may be used from many threads (as ApiClient promises).
// Ownership: the Clock must outlive the KubeClient.
#pragma once

#include <memory>

#include "common/clock.h"
#include "kube/curl_transport.h"
#include "kube/kube_config.h"
#include "kube/request_rate_limiter.h"
#include "kube/rest_client.h"
#include "kube/token_source.h"

namespace berth::kube {

struct KubeClientOptions {
  double qps = 20;  // <= 0: no client-side limit
  int burst = 40;
  RetryPolicy retry{};
};

class KubeClient {
 public:
  static std::unique_ptr<KubeClient> create(const KubeConfig& config, const KubeClientOptions& options, Clock& clock);

  RestClient& api() { return *rest_; }
  TokenSource& tokens() { return *tokens_; }

 private:
  KubeClient() = default;

  std::unique_ptr<CurlTransport> transport_;
  std::unique_ptr<TokenSource> tokens_;
  std::unique_ptr<RequestRateLimiter> limiter_;
  std::unique_ptr<RestClient> rest_;  // declared last: destroyed first, it uses the others
};

}  // namespace berth::kube
