#include "kube/kube_client.h"

namespace berth::kube {

std::unique_ptr<KubeClient> KubeClient::create(const KubeConfig& config, const KubeClientOptions& options,
                                               Clock& clock) {
  std::unique_ptr<KubeClient> c(new KubeClient());
  c->transport_ = std::make_unique<CurlTransport>(CurlTransportOptions::from_config(config));
  c->tokens_ = TokenSource::from_config(config, clock);
  c->limiter_ = std::make_unique<RequestRateLimiter>(options.qps, options.burst, clock);
  c->rest_ = std::make_unique<RestClient>(config, *c->transport_, *c->tokens_, *c->limiter_, clock, options.retry);
  return c;
}

}  // namespace berth::kube
