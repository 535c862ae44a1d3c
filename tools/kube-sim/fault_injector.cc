#include "kube-sim/fault_injector.h"

namespace berth::kubesim {

void FaultInjector::inject_errors(int count, int status, int retry_after_seconds, std::string path_prefix) {
  std::lock_guard lock(mu_);
  remaining_errors_ = count > 0 ? count : 0;
  error_ = {status, retry_after_seconds > 0 ? retry_after_seconds : 0};
  path_prefix_ = std::move(path_prefix);
}

std::optional<InjectedError> FaultInjector::take_error(std::string_view path) {
  std::lock_guard lock(mu_);
  if (remaining_errors_ == 0 || !path.starts_with(path_prefix_)) return std::nullopt;
  --remaining_errors_;
  return error_;
}

void FaultInjector::set_latency(std::chrono::milliseconds latency) {
  std::lock_guard lock(mu_);
  latency_ = latency.count() > 0 ? latency : std::chrono::milliseconds{0};
}

std::chrono::milliseconds FaultInjector::latency() const {
  std::lock_guard lock(mu_);
  return latency_;
}

void FaultInjector::clear() {
  std::lock_guard lock(mu_);
  remaining_errors_ = 0;
  path_prefix_.clear();
  latency_ = std::chrono::milliseconds{0};
}

nlohmann::json FaultInjector::describe() const {
  std::lock_guard lock(mu_);
  return {{"errors",
           {{"remaining", remaining_errors_},
            {"status", error_.status},
            {"retryAfterSeconds", error_.retry_after_seconds},
            {"paths", path_prefix_}}},
          {"latencyMilliseconds", latency_.count()}};
}

}  // namespace berth::kubesim
