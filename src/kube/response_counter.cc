#include "kube/response_counter.h"

namespace berth::kube {

void ResponseCounter::record_status(int http_status) {
  std::lock_guard lock(mu_);
  ++counts_[std::to_string(http_status)];
}

void ResponseCounter::record_transport_failure() {
  std::lock_guard lock(mu_);
  ++counts_[kTransport];
}

std::map<std::string, std::uint64_t> ResponseCounter::snapshot() const {
  std::lock_guard lock(mu_);
  return counts_;
}

}  // namespace berth::kube
