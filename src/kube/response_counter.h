// Counts the answers the Kubernetes API gave one client, by HTTP status code, for the metric
// berth_kube_api_requests_total{client,code} (docs/operations.md). Every attempt counts, retries
// included, so a 429 storm shows as the 429s it was; an attempt that got no HTTP answer at all
// (refused, reset, TLS failure, timeout) counts as "transport". Cancelled attempts (shutdown) do
// not count.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace berth::kube {

class ResponseCounter {
 public:
  static constexpr const char* kTransport = "transport";

  void record_status(int http_status);
  void record_transport_failure();

  // code ("200", "409", "transport") → attempts; only codes seen so far.
  std::map<std::string, std::uint64_t> snapshot() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::uint64_t> counts_;  // guarded by mu_
};

}  // namespace berth::kube
